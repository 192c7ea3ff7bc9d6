# shellcheck shell=bash disable=SC1090
# ferry gives this file to OpenNebula-convention bash scripts as BASH_ENV, so
# a helper library that is missing stops the script instead of letting it go
# on without its functions and exit 0 having done nothing. A `.` or `source`
# of a file that cannot be read prints one line naming it and exits 97.

# The script's own arguments: a sourced file sees them, as it would without this guard.
__ferry_script_args=("$@")

# source FILE [ARGS...]: the builtin, after checking FILE can be read.
source() {
    if [ ! -f "${1-}" ] || [ ! -r "${1-}" ]; then
        echo "ferry: $0 could not load ${1-}: no such readable file. OpenNebula's drivers need OpenNebula's helpers: install them with 'ferry drivers import', or set ONE_LOCATION to an OpenNebula install" >&2
        exit 97
    fi
    if [ "$#" -gt 1 ]; then
        builtin source "$@"
        return
    fi
    local __ferry_file=$1
    set -- "${__ferry_script_args[@]}"
    builtin source "$__ferry_file"
}

# . FILE [ARGS...]: the same as source.
.() {
    source "$@"
}
