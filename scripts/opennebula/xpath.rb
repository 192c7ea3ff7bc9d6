#!/bin/sh
# ferry's drop-in for OpenNebula's remotes/datastore/xpath.rb: same arguments,
# same NUL-separated values, same exit status, without starting Ruby for the
# forms OpenNebula's drivers use. It runs ferry-xpath ($FERRY_XPATH, which ferry
# sets for every script it runs); ferry-xpath itself runs OpenNebula's original,
# installed beside this file as xpath-rexml.rb, for anything it is unsure of.
# Without FERRY_XPATH (run outside ferry, or no C compiler) it runs the original.
# A sh script despite its name: the drivers run it by path, never with ruby.
set -eu

case "$0" in
    */*) here=$(cd "${0%/*}" && pwd) ;;
    *) here=$(pwd) ;;
esac

FERRY_XPATH_RUBY="$here/xpath-rexml.rb"
export FERRY_XPATH_RUBY

# OpenNebula's xpath.rb requires load_opennebula_paths from <ONE_LOCATION>/lib/ruby
# (<root>/var/remotes/datastore/ -> <root>/lib/ruby when ONE_LOCATION is unset).
if [ -n "${ONE_LOCATION:-}" ]; then
    ruby_lib="$ONE_LOCATION/lib/ruby"
else
    ruby_lib="$here/../../../lib/ruby"
fi
RUBYLIB="$ruby_lib${RUBYLIB:+:$RUBYLIB}"
export RUBYLIB

if [ -n "${FERRY_XPATH:-}" ] && [ -x "$FERRY_XPATH" ]; then
    exec "$FERRY_XPATH" "$@"
fi
exec ruby "$FERRY_XPATH_RUBY" "$@"
