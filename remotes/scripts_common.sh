#!/bin/sh
# ferry's helper library for driver scripts (OpenNebula's scripts_common.sh,
# rebuilt). Source it from a driver action:
#
#     . "$(dirname "$0")/../../scripts_common.sh"
#
# POSIX sh, so #!/bin/sh and #!/bin/bash drivers can both use it. Commands
# are run from argument lists ("$@"), never through eval of a joined string,
# so arguments with spaces or quotes arrive intact. stdout is for results
# only: every log line goes to stderr, as `LEVEL: <script>: message`, which
# ferry turns into log records.
#
# The TM drivers' shared host work lives here too (host_query, die_on_host,
# qemu_snapshot_tag), not in a lib/ of one driver: tm/shared (sh) and tm/ssh
# (bash) both source this file already, `ferry drivers new` copies it into a
# remotes folder that lacks it, and a copied driver needs no lib/ of another.
#
# Environment ferry sets for drivers (see docs/driver-contract.md, "The environment"):
#   FERRY_SSH_CONFIG   ssh_config rendered from ferry.yaml `hosts:` (-F)
#   FERRY_LOCAL_HOSTS  space-separated host names that run locally
#   FERRY_LOCK_DIR     folder for exclusive's lock files
#   FERRY              command that runs ferry itself (for `$FERRY xpath`)

# The name logs are tagged with: the driver folder and the action.
# (Parameter expansion, not basename/dirname: every process a driver forks costs milliseconds.)
if [ -z "${FERRY_SCRIPT_NAME:-}" ]; then
    _sn_dir=${0%/*}
    [ "$_sn_dir" = "$0" ] && _sn_dir=.
    FERRY_SCRIPT_NAME=${_sn_dir##*/}/${0##*/}
fi

# log_lines LEVEL TEXT: writes every line of TEXT to stderr as "LEVEL: <script>: line", so multi-line text stays log records.
log_lines() {
    case "$2" in
        *'
'*)
            printf '%s\n' "$2" | while IFS= read -r _ll_line; do
                printf '%s: %s: %s\n' "$1" "$FERRY_SCRIPT_NAME" "$_ll_line"
            done >&2
            ;;
        *) printf '%s: %s: %s\n' "$1" "$FERRY_SCRIPT_NAME" "$2" >&2 ;;
    esac
}

# log_info MSG...: writes "INFO: <script>: MSG" to stderr.
log_info() {
    log_lines INFO "$*"
}

# log_warn MSG...: writes "WARN: <script>: MSG" to stderr.
log_warn() {
    log_lines WARN "$*"
}

# log_error MSG...: writes "ERROR: <script>: MSG" to stderr.
log_error() {
    log_lines ERROR "$*"
}

# log_debug MSG...: writes "DEBUG: <script>: MSG" to stderr.
log_debug() {
    log_lines DEBUG "$*"
}

# log MSG...: the spec's log: an INFO record.
log() {
    log_info "$@"
}

# error_message MSG...: writes MSG between OpenNebula's separators on stderr; ferry reports it as the failure.
error_message() {
    {
        echo "ERROR MESSAGE --8<------"
        printf '%s\n' "$*"
        echo "ERROR MESSAGE ------>8--"
    } >&2
}

# die MSG...: error_message MSG, then exit 1.
die() {
    error_message "$@"
    exit 1
}

# shell_quote ARG...: prints the arguments single-quoted for sh, space-separated (for ssh, which takes a command string).
shell_quote() {
    _sq_sep=''
    for _sq_arg in "$@"; do
        case "$_sq_arg" in
            *\'*)
                # The trailing x keeps $(...) from eating trailing newlines of the argument.
                _sq_q=$(printf '%sx' "$_sq_arg" | sed "s/'/'\\\\''/g")
                _sq_q=${_sq_q%x}
                ;;
            *) _sq_q=$_sq_arg ;;
        esac
        printf "%s'%s'" "$_sq_sep" "$_sq_q"
        _sq_sep=' '
    done
}

# clean_path PATH: prints PATH with repeated slashes squeezed and a trailing slash removed ("/" stays "/").
clean_path() {
    printf '%s\n' "$1" | sed -e 's#//*#/#g' -e 's#\(.\)/$#\1#'
}

# arg_host ARG: prints the host of "host:path" ARG, or nothing for a bare path (a path may itself hold ":").
arg_host() {
    case "$1" in
        /* | "" | *:) ;;
        *:*)
            _ah_host=${1%%:*}
            case "$_ah_host" in
                */*) ;;
                *) printf '%s\n' "$_ah_host" ;;
            esac
            ;;
    esac
}

# arg_path ARG: prints the path of "host:path" ARG (or ARG itself when it has no host), cleaned with clean_path.
arg_path() {
    _ap_host=$(arg_host "$1")
    if [ -n "$_ap_host" ]; then
        clean_path "${1#*:}"
    else
        clean_path "$1"
    fi
}

# host_is_local HOST: succeeds when HOST is empty, localhost, this machine, or listed in FERRY_LOCAL_HOSTS.
host_is_local() {
    case "$1" in
        "" | localhost | localhost.localdomain | 127.0.0.1 | ::1) return 0 ;;
    esac
    [ "$1" = "$(hostname 2>/dev/null)" ] && return 0
    for _hl_name in ${FERRY_LOCAL_HOSTS:-}; do
        [ "$1" = "$_hl_name" ] && return 0
    done
    return 1
}

# ferry_ssh HOST CMD ARG...: runs CMD ARG... on HOST over ssh (BatchMode, FERRY_SSH_CONFIG), arguments quoted intact.
ferry_ssh() {
    _fs_host=$1
    shift
    if [ -n "${FERRY_SSH_CONFIG:-}" ]; then
        ssh -F "$FERRY_SSH_CONFIG" -o BatchMode=yes -- "$_fs_host" "$(shell_quote "$@")"
    else
        # Without ferry's ssh_config (which carries these defaults), still never hang on a silent host.
        ssh -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -- "$_fs_host" "$(shell_quote "$@")"
    fi
}

# on_host HOST CMD ARG...: runs CMD ARG... locally when HOST is local, else over ssh; the command's status is returned.
on_host() {
    _oh_host=$1
    shift
    if host_is_local "$_oh_host"; then
        "$@"
    else
        ferry_ssh "$_oh_host" "$@"
    fi
}

# on_host_sh HOST SCRIPT: runs the sh SCRIPT on HOST (locally or over ssh); build SCRIPT with shell_quote.
on_host_sh() {
    on_host "$1" sh -c "$2"
}

# exec_and_set_error CMD ARG...: runs the command (stdout untouched); on failure sets ERROR to its stderr and returns its status.
exec_and_set_error() {
    # stderr is captured through a pipe (no temp file to leak if the driver is killed); fd 3 carries stdout past it.
    { ERROR=$("$@" 2>&1 >&3 3>&-); } 3>&1 && return 0
    _es_status=$?
    return "$_es_status"
}

# take_message [-m MESSAGE] ...: the -m option of the exec_and_log family: sets _tm_msg to MESSAGE (or '') and _tm_shift to how many arguments the caller shifts (2 or 0).
take_message() {
    _tm_msg=''
    _tm_shift=0
    if [ "${1:-}" = "-m" ]; then
        _tm_msg=$2
        _tm_shift=2
    fi
}

# run_wrapped N WRAPPER... CMD ARG...: runs the whole line with its stdout on stderr (ERROR gets its stderr); on failure sets _rw_status and _rw_shown (CMD ARG... quoted, without the N words of WRAPPER) and returns 1.
run_wrapped() {
    _rw_skip=$1
    shift
    # The command's stdout goes to stderr: stdout carries only the driver's result.
    if exec_and_set_error "$@" >&2; then
        return 0
    else
        _rw_status=$?
    fi
    shift "$_rw_skip"
    _rw_shown=$(shell_quote "$@")
    return 1
}

# exec_and_log [-m MESSAGE] CMD ARG...: runs the command (logged at DEBUG, its stdout sent to stderr); on failure reports MESSAGE (default: the command and its stderr) and exits 1.
exec_and_log() {
    take_message "$@"
    shift "$_tm_shift"
    log_debug "running: $(shell_quote "$@")"
    run_wrapped 0 "$@" && return 0
    log_error "command failed (status $_rw_status): $_rw_shown: $ERROR"
    die "${_tm_msg:-Error executing $_rw_shown}${ERROR:+: $ERROR}"
}

# timeout_exec_and_log SECONDS [-m MESSAGE] CMD ARG...: exec_and_log with a time limit; a command still running after SECONDS is killed and reported.
timeout_exec_and_log() {
    _te_seconds=$1
    shift
    take_message "$@"
    shift "$_tm_shift"
    run_wrapped 3 timeout --kill-after=5 "$_te_seconds" "$@" && return 0
    if [ "$_rw_status" -eq 124 ] || [ "$_rw_status" -eq 137 ]; then
        ERROR="timed out after $_te_seconds s${ERROR:+; $ERROR}"
    fi
    log_error "command failed (status $_rw_status): $_rw_shown: $ERROR"
    die "${_tm_msg:-Error executing $_rw_shown}${ERROR:+: $ERROR}"
}

# ssh_exec_and_log HOST [-m MESSAGE] CMD ARG...: exec_and_log of CMD ARG... on HOST (local or ssh); failures name the host, and ssh's 255 says the host could not be reached.
ssh_exec_and_log() {
    _se_host=$1
    shift
    take_message "$@"
    shift "$_tm_shift"
    run_wrapped 2 on_host "$_se_host" "$@" && return 0
    log_error "command failed on ${_se_host:-localhost} (status $_rw_status): $_rw_shown: $ERROR"
    if [ "$_rw_status" -eq 255 ] && ! host_is_local "$_se_host"; then
        die "Cannot reach host $_se_host over ssh (ssh exit 255)${_tm_msg:+ to: $_tm_msg}${ERROR:+: $ERROR}"
    fi
    die "${_tm_msg:-Error executing $_rw_shown} on ${_se_host:-localhost}${ERROR:+: $ERROR}"
}

# die_on_host HOST STATUS MSG STDERR: dies for a command that failed on HOST: "Cannot reach host HOST over ssh" when ssh itself failed (255 from a remote host), else MSG with HOST, STATUS and STDERR.
die_on_host() {
    if [ "$2" -eq 255 ] && ! host_is_local "$1"; then
        die "Cannot reach host $1 over ssh (ssh exit 255)${4:+: $4}"
    fi
    die "$3 (on ${1:-localhost}, status $2)${4:+: $4}"
}

# host_query HOST MSG CMD ARG...: runs CMD ARG... on HOST (locally or over ssh) with stdin from /dev/null, its stdout on ours; on failure dies with die_on_host. The tm drivers ask their hosts through it.
host_query() {
    _hq_host=$1
    _hq_msg=$2
    shift 2
    if exec_and_set_error on_host "$_hq_host" "$@" </dev/null; then
        [ -z "$ERROR" ] || log_debug "${_hq_host:-localhost} said: $ERROR"
        return 0
    else
        _hq_status=$?
    fi
    die_on_host "$_hq_host" "$_hq_status" "$_hq_msg" "$ERROR"
}

# ssh_make_path HOST PATH: creates folder PATH (and parents) on HOST.
ssh_make_path() {
    ssh_exec_and_log "$1" -m "Cannot create folder $2 on ${1:-localhost}" mkdir -p -- "$2"
}

# ferry_tmp_name DEST [TAG]: prints the name DEST is written under until it is complete, DIR/.NAME.ferry-tmp.PID[.TAG] (PID: this process; TAG: letters, digits, _ and -), the one temporary naming of docs/driver-contract.md.
ferry_tmp_name() {
    _tn_dir=${1%/*}
    [ "$_tn_dir" = "$1" ] && _tn_dir=.
    printf '%s/.%s.ferry-tmp.%s%s\n' "$_tn_dir" "${1##*/}" "$$" "${2:+.$2}"
}

# retry COUNT DELAY CMD ARG...: runs the command up to COUNT times, sleeping DELAY seconds between tries; returns its last status.
retry() {
    _rt_count=$1
    _rt_delay=$2
    shift 2
    _rt_try=1
    while :; do
        if "$@"; then
            return 0
        else
            _rt_status=$?
        fi
        [ "$_rt_try" -ge "$_rt_count" ] && return "$_rt_status"
        log_debug "try $_rt_try of $_rt_count failed (status $_rt_status): $(shell_quote "$@")"
        _rt_try=$((_rt_try + 1))
        sleep "$_rt_delay"
    done
}

# exclusive NAME TIMEOUT CMD ARG...: runs the command holding the lock FERRY_LOCK_DIR/NAME.lock, waiting up to TIMEOUT seconds for it.
exclusive() {
    _ex_name=$1
    _ex_timeout=$2
    shift 2
    _ex_dir=${FERRY_LOCK_DIR:-${TMPDIR:-/tmp}/ferry-locks}
    mkdir -p -- "$_ex_dir" || die "Cannot create lock folder $_ex_dir"
    if flock -w "$_ex_timeout" -E 200 -- "$_ex_dir/$_ex_name.lock" "$@"; then
        return 0
    else
        _ex_status=$?
    fi
    [ "$_ex_status" -eq 200 ] && die "Timed out after $_ex_timeout s waiting for lock $_ex_dir/$_ex_name.lock"
    return "$_ex_status"
}

# mkfs_command PATH FORMAT SIZE_MB [FS]: prints an sh script that creates PATH as a FORMAT image (raw, qcow2, swap) of SIZE_MB MB, with filesystem FS if given.
mkfs_command() {
    _mk_path=$1
    _mk_format=$2
    _mk_size=$3
    _mk_fs=${4:-}
    case "$_mk_size" in
        '' | *[!0-9]*)
            error_message "mkfs_command: size '$_mk_size' is not a whole number of MB"
            return 1
            ;;
    esac
    case "$_mk_fs" in
        '' | raw | none) _mk_fs='' ;;
        *[!A-Za-z0-9]*)
            error_message "mkfs_command: filesystem '$_mk_fs' is not a plain name such as ext4"
            return 1
            ;;
    esac
    echo "set -e"
    # mkfs and mkswap live in sbin, which a non-root or ssh PATH may lack.
    # shellcheck disable=SC2016 # expanded by the printed script, not here
    echo 'PATH=$PATH:/usr/sbin:/sbin'
    case "$_mk_format" in
        swap)
            echo "truncate -s $(shell_quote "${_mk_size}M") -- $(shell_quote "$_mk_path")"
            echo "mkswap -q $(shell_quote "$_mk_path") >/dev/null"
            ;;
        raw | '')
            echo "truncate -s $(shell_quote "${_mk_size}M") -- $(shell_quote "$_mk_path")"
            if [ -n "$_mk_fs" ]; then
                echo "mkfs -t $(shell_quote "$_mk_fs") $(mkfs_force_flag "$_mk_fs") $(shell_quote "$_mk_path") >/dev/null"
            fi
            ;;
        qcow2)
            if [ -n "$_mk_fs" ]; then
                echo "truncate -s $(shell_quote "${_mk_size}M") -- $(shell_quote "$_mk_path.raw")"
                echo "mkfs -t $(shell_quote "$_mk_fs") $(mkfs_force_flag "$_mk_fs") $(shell_quote "$_mk_path.raw") >/dev/null"
                echo "qemu-img convert -q -f raw -O qcow2 $(shell_quote "$_mk_path.raw") $(shell_quote "$_mk_path")"
                echo "rm -f -- $(shell_quote "$_mk_path.raw")"
            else
                echo "qemu-img create -q -f qcow2 $(shell_quote "$_mk_path") $(shell_quote "${_mk_size}M")"
            fi
            ;;
        *)
            error_message "mkfs_command: format '$_mk_format' is not raw, qcow2 or swap"
            return 1
            ;;
    esac
}

# mkfs_force_flag FS: prints the flags that make mkfs.FS quiet and write without asking (-q -F for ext*, -q -f for xfs/btrfs).
mkfs_force_flag() {
    case "$1" in
        ext2 | ext3 | ext4) echo "-q -F" ;;
        xfs | btrfs) echo "-q -f" ;;
        *) echo "" ;;
    esac
}

# fs_size PATH_OR_URL: prints the size in MB, rounded up, of a file (a qcow2's virtual size), a folder, or an http(s) URL; fails if unknown.
fs_size() {
    _sz_bytes=''
    case "$1" in
        http://* | https://*)
            _sz_bytes=$(curl -fsSLI --max-time 30 -- "$1" 2>/dev/null | tr -d '\r' | awk 'tolower($1) == "content-length:" { n = $2 } END { if (n != "") print n }')
            ;;
        *)
            if [ -d "$1" ]; then
                _sz_bytes=$(du -sb -- "$1" 2>/dev/null | cut -f1)
            elif [ -f "$1" ] || [ -b "$1" ]; then
                _sz_bytes=$(qemu_virtual_size "$1" 2>/dev/null) || _sz_bytes=''
                [ -n "$_sz_bytes" ] || _sz_bytes=$(stat -L -c %s -- "$1" 2>/dev/null)
            fi
            ;;
    esac
    case "$_sz_bytes" in
        '' | *[!0-9]*) return 1 ;;
    esac
    echo $(((_sz_bytes + 1048575) / 1048576))
}

# image_format FILE: prints the image format qemu-img sees in FILE (raw, qcow2 …), raw when qemu-img is missing.
image_format() {
    if command -v qemu-img >/dev/null 2>&1; then
        # The human output's first "file format:" is the top-level image (the JSON nests children with their own formats).
        qemu-img info -U -- "$1" 2>/dev/null | sed -n 's/^file format: *//p' | head -n 1
    else
        echo raw
    fi
}

# qemu_virtual_size FILE: prints the virtual size in bytes of a qcow2 FILE; fails for other formats.
qemu_virtual_size() {
    [ "$(image_format "$1")" = qcow2 ] || return 1
    qemu-img info -U -- "$1" | sed -n 's/^virtual size: .*(\([0-9][0-9]*\) bytes).*/\1/p' | head -n 1
}

# qemu_snapshot_tag ID [NAME]: prints the qcow2 tag of snapshot ID, "snap-N" with N the decimal value of ID (010 is snap-10): qemu-img -a/-l would read a bare number as its own internal id. A non-number fails, naming NAME (default "snapshot id").
qemu_snapshot_tag() {
    case "$1" in
        '' | *[!0-9]*)
            error_message "${2:-snapshot id} '$1' is not a snapshot id (a whole number, 0 or more)"
            return 1
            ;;
    esac
    # Leading zeros go by hand: $((...)) would read 010 as octal 8 and refuse 08.
    _st_id=${1#"${1%%[!0]*}"}
    printf 'snap-%s\n' "${_st_id:-0}"
}

# inside_dir PATH DIR: succeeds when PATH (resolved, need not exist) lies strictly inside DIR.
inside_dir() {
    _id_dir=$(realpath -m -- "$2")
    _id_dir=${_id_dir%/}
    _id_path=$(realpath -m -- "$1")
    case "$_id_path" in
        "$_id_dir"/?*) return 0 ;;
        *) return 1 ;;
    esac
}
