#!/bin/bash
# Shared code of the ssh transfer manager, in bash (arrays, PIPESTATUS,
# pipefail). Sourced by every action in this folder, never run by itself:
#
#     . "$(dirname "$0")/tm_ssh_common.sh"
#
# It sources ferry's helper library and adds what the actions share:
# commands on a host that fail with a message naming the host (or saying it
# could not be reached), and sparse-aware tar streams from one host to
# another through this machine (the front-end), received under a temporary
# name beside the target and renamed into place. Commands are built from
# argument lists; remote ones are quoted by the library's shell_quote, so
# paths with spaces or quotes arrive intact. Nothing here writes to stdout
# unless asked (host_query): stdout is the action's result. Asking a host
# (host_query, die_on_host) and the snapshot tag (qemu_snapshot_tag) come
# from scripts_common.sh, shared with tm/shared and tm/qcow2 (POSIX sh).

# shellcheck source=SCRIPTDIR/../../../scripts_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../../scripts_common.sh"

# define NAME <<'EOF' ... EOF: sets variable NAME to the here-document's text (scripts run on hosts).
define() {
    IFS= read -r -d '' "$1" || true
}

# Per-run scratch folder on the front-end, removed on exit.
TM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-tm-ssh.XXXXXX")

# tm_exit: EXIT trap: runs the action's on_exit function if it defines one, then removes TM_TMP.
tm_exit() {
    local status=$?
    if declare -F on_exit >/dev/null; then
        on_exit || true
    fi
    rm -rf -- "$TM_TMP"
    exit "$status"
}
trap tm_exit EXIT

# host_label HOST: prints HOST, or "the front-end" for an empty host.
host_label() {
    if [ -n "$1" ]; then printf '%s\n' "$1"; else echo "the front-end"; fi
}

# host_run HOST MSG CMD ARG...: host_query (scripts_common.sh) with the command logged and its stdout sent to stderr (stdout is the action's result).
host_run() {
    log_debug "on $(host_label "$1"): $(shell_quote "${@:3}")"
    host_query "$@" >&2
}

# same_host A B: succeeds when A and B name the same machine (equal names, or both local).
same_host() {
    [ "$1" = "$2" ] && return 0
    host_is_local "$1" && host_is_local "$2"
}

# require_abs ARG PATH: dies unless PATH (taken from argument ARG) is absolute.
require_abs() {
    case "$2" in
        /*) ;;
        *) die "Argument '$1': path '$2' is not absolute" ;;
    esac
}

# parent_of PATH: prints the folder holding PATH (dirname).
parent_of() {
    dirname -- "$1"
}

# name_of PATH: prints the last part of PATH (basename).
name_of() {
    basename -- "$1"
}

# The receiving end of a file copy (sh, on the destination host). $1 folder,
# $2 target path, $3 member name in the archive. The archive on stdin is
# unpacked in a temporary folder beside the target and renamed into place, so
# the target is either the old file or the complete new one.
define RECV_FILE_SH <<'EOF'
set -eu
dir=$1 dst=$2 name=$3
mkdir -p -- "$dir"
tmp=$(mktemp -d "$dir/.ferry-recv.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
trap 'rm -rf -- "$tmp"; exit 1' HUP INT TERM PIPE
tar -C "$tmp" -xSf -
mv -fT -- "$tmp/$name" "$dst"
EOF

# The receiving end of a folder copy (sh): unpacks the archive on stdin into
# folder $1, created if missing; what the folder already holds is kept unless
# the archive has a file of the same name.
define RECV_DIR_SH <<'EOF'
set -eu
mkdir -p -- "$1"
tar -C "$1" -xSf -
EOF

# tar_stream SRC_HOST SRC_DIR MEMBER DST_HOST MSG SCRIPT ARG...: tars MEMBER of SRC_DIR on SRC_HOST (holes kept) into the sh SCRIPT ARG... on DST_HOST, through this machine; dies naming the failing side.
tar_stream() {
    local src_host=$1 src_dir=$2 member=$3 dst_host=$4 msg=$5 script=$6
    shift 6
    local status send_err recv_err
    log_debug "tar stream: $(host_label "$src_host"):$src_dir/$member -> $(host_label "$dst_host") $(shell_quote "$@")"
    set +e
    on_host "$src_host" tar -C "$src_dir" --sparse -cf - "$member" 2>"$TM_TMP/send.err" </dev/null |
        on_host "$dst_host" sh -c "$script" sh "$@" 2>"$TM_TMP/recv.err" >&2
    status=("${PIPESTATUS[@]}")
    set -e
    [ "${status[0]}" -eq 0 ] && [ "${status[1]}" -eq 0 ] && return 0
    send_err=$(cat "$TM_TMP/send.err")
    recv_err=$(cat "$TM_TMP/recv.err")
    # ssh's own failure (255) names the host that could not be reached; the other side only saw a broken
    # stream. The receiver is asked first: when it cannot be reached, the sender's ssh exits 255 as well
    # (its output pipe breaks, silently), while an unreachable sender only leaves the receiver an empty
    # stream, which its tar refuses (not 255).
    if [ "${status[1]}" -eq 255 ] && ! host_is_local "$dst_host"; then die_on_host "$dst_host" 255 "$msg" "$recv_err"; fi
    if [ "${status[0]}" -eq 255 ] && ! host_is_local "$src_host"; then die_on_host "$src_host" 255 "$msg" "$send_err"; fi
    local why=''
    [ "${status[0]}" -ne 0 ] && why="sending on $(host_label "$src_host") failed (status ${status[0]})${send_err:+: $send_err}"
    [ "${status[1]}" -ne 0 ] && why="${why:+$why; }receiving on $(host_label "$dst_host") failed (status ${status[1]})${recv_err:+: $recv_err}"
    die "$msg: $why"
}

# copy_file SRC_HOST SRC_PATH DST_HOST DST_PATH: copies a file (or a folder as a whole) keeping holes; the target appears complete or not at all.
copy_file() {
    local src_host=$1 src_path=$2 dst_host=$3 dst_path=$4
    local what
    what="Cannot copy $(host_label "$src_host"):$src_path to $(host_label "$dst_host"):$dst_path"
    if host_is_local "$src_host" && host_is_local "$dst_host"; then
        local dir tmp
        dir=$(parent_of "$dst_path")
        exec_and_log -m "$what" mkdir -p -- "$dir"
        tmp=$(mktemp -d "$dir/.ferry-recv.XXXXXX")
        if ! exec_and_set_error cp -a --sparse=always -- "$src_path" "$tmp/data" ||
            ! exec_and_set_error mv -fT -- "$tmp/data" "$dst_path"; then
            rm -rf -- "$tmp"
            die "$what: $ERROR"
        fi
        rmdir -- "$tmp"
        return 0
    fi
    local name
    name=$(name_of "$src_path")
    tar_stream "$src_host" "$(parent_of "$src_path")" "./$name" "$dst_host" "$what" \
        "$RECV_FILE_SH" "$(parent_of "$dst_path")" "$dst_path" "$name"
}

# copy_dir_into SRC_HOST SRC_DIR DST_HOST DST_DIR: copies the contents of folder SRC_DIR into DST_DIR (created if missing, its other files kept), keeping holes.
copy_dir_into() {
    local src_host=$1 src_dir=$2 dst_host=$3 dst_dir=$4
    local what
    what="Cannot copy folder $(host_label "$src_host"):$src_dir to $(host_label "$dst_host"):$dst_dir"
    if host_is_local "$src_host" && host_is_local "$dst_host"; then
        exec_and_log -m "$what" mkdir -p -- "$dst_dir"
        exec_and_log -m "$what" cp -a --sparse=always -- "$src_dir/." "$dst_dir/"
        return 0
    fi
    tar_stream "$src_host" "$src_dir" . "$dst_host" "$what" "$RECV_DIR_SH" "$dst_dir"
}

# What a path is on a host (sh): prints dir, file or missing for $1.
define PATH_KIND_SH <<'EOF'
if [ -d "$1" ]; then echo dir; elif [ -e "$1" ] || [ -L "$1" ]; then echo file; else echo missing; fi
EOF

# path_kind HOST PATH: prints dir, file or missing for PATH on HOST.
path_kind() {
    host_query "$1" "Cannot look at $2" sh -c "$PATH_KIND_SH" sh "$2"
}

# Snapshot work on a qcow2 disk (sh, on the host). $1 disk, $2 operation
# (create, revert, delete, export), $3 snapshot tag, $4 output file (export).
# The format is read from qemu-img's plain output (its first "file format:"
# line is the image's own, child nodes are indented). -U lets qemu-img read
# an image a running VM holds.
define SNAPSHOT_SH <<'EOF'
set -eu
disk=$1 op=$2 tag=$3
[ -f "$disk" ] || { echo "disk $disk does not exist" >&2; exit 3; }
format=$(qemu-img info -U -- "$disk" | sed -n "s/^file format: //p")
[ "$format" = qcow2 ] || { echo "disk $disk is ${format:-of unknown format}, snapshots need a qcow2 disk" >&2; exit 4; }
if qemu-img snapshot -U -l "$disk" | awk -v tag="$tag" 'NR > 2 && $2 == tag { found = 1 } END { exit !found }'; then
    has=yes
else
    has=no
fi
case "$op" in
create)
    if [ "$has" = no ]; then qemu-img snapshot -c "$tag" "$disk"; else echo present; fi ;;
revert)
    [ "$has" = yes ] || { echo "snapshot $tag does not exist in $disk" >&2; exit 5; }
    qemu-img snapshot -a "$tag" "$disk" ;;
delete)
    if [ "$has" = yes ]; then qemu-img snapshot -d "$tag" "$disk"; else echo absent; fi ;;
export)
    [ "$has" = yes ] || { echo "snapshot $tag does not exist in $disk" >&2; exit 5; }
    qemu-img convert -U -q -l "snapshot.name=$tag" -O qcow2 "$disk" "$4" ;;
esac
EOF

# disk_snapshot HOST PATH OP SNAP_ID [OUT]: runs SNAPSHOT_SH's OP for snapshot SNAP_ID (tag from qemu_snapshot_tag) of the qcow2 disk PATH on HOST; prints its stdout.
disk_snapshot() {
    local host=$1 path=$2 op=$3 snap=$4 tag
    shift 4
    tag=$(qemu_snapshot_tag "$snap" snap_id) || exit
    host_query "$host" "Cannot $op snapshot $snap of $(host_label "$host"):$path" \
        sh -c "$SNAPSHOT_SH" sh "$path" "$op" "$tag" "$@"
}

# check_count EXPECTED ACTUAL USAGE: dies with USAGE unless the argument count matches.
check_count() {
    [ "$1" -eq "$2" ] || die "usage: $FERRY_SCRIPT_NAME $3 (got $2 arguments)"
}
