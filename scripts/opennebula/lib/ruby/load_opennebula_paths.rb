# frozen_string_literal: true

# ferry's stand-in for the load_opennebula_paths.rb an OpenNebula install
# generates: OpenNebula's Ruby scripts (xpath.rb, one_datastore.rb, ...)
# require it first to find their gems. A ferry ONE root has no gems of its own,
# so this only adds the folders that exist, and never fails when none does.

gem_dirs = []
gem_dirs << GEMS_LOCATION if defined?(GEMS_LOCATION)
gem_dirs << ENV['GEMS_LOCATION'] if ENV['GEMS_LOCATION']
gem_dirs = gem_dirs.compact.select {|dir| File.directory?(dir) }

unless gem_dirs.empty?
    begin
        require 'rubygems'
        Gem.paths = { 'GEM_PATH' => (gem_dirs + Gem.path).uniq.join(File::PATH_SEPARATOR) }
    rescue StandardError, LoadError
        nil # the system's gems are still there
    end
end

[defined?(RUBY_LIB_LOCATION) ? RUBY_LIB_LOCATION : nil, __dir__].each do |dir|
    next if dir.nil? || !File.directory?(dir) || $LOAD_PATH.include?(dir)

    $LOAD_PATH << dir
end
