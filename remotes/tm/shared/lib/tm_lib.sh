#!/bin/sh
# Helpers of the shared and qcow2 TM drivers: argument checks, the VM-folder
# layout guard, and the host-side steps that copy, convert, link, move and
# remove disks. Every action of remotes/tm/shared and remotes/tm/qcow2
# sources it after the helper library (POSIX sh):
#
#     . "$(dirname "$0")/../../scripts_common.sh"
#     . "$(dirname "$0")/../shared/lib/tm_lib.sh"
#
# Work on a host runs as `sh -c SCRIPT sh ARG...` through on_host (locally
# for a local host, else over ssh with every argument quoted): SCRIPT is one
# of the constants below, and paths reach it only as positional arguments,
# so no path or name is ever parsed by a shell. Files are written under a
# temporary name next to their destination and renamed into place, so a
# failed or killed action never leaves a half-written disk behind.
#
# Functions that answer set a TM_* variable instead of printing, so that
# their `die` ends the action itself rather than a $(...) subshell. Asking a
# host (host_query, die_on_host) and the snapshot tag (qemu_snapshot_tag)
# come from scripts_common.sh, shared with tm/ssh (bash).
#
# The host scripts below are single-quoted on purpose: they expand their
# positional arguments on the host, not here (SC2016). The TM_* answers are
# read by the action scripts, which shellcheck does not see from here (SC2034).
# shellcheck disable=SC2016,SC2034

# Prints what $1 is: link (a dangling one too), dir, file (anything else that exists) or missing.
TM_KIND_SH='if [ -L "$1" ]; then echo link; elif [ -d "$1" ]; then echo dir; elif [ -e "$1" ]; then echo file; else echo missing; fi'

# Prints what image $1 is: file (a regular file, links followed), dir, broken (dangling link) or missing.
TM_IMAGE_SH='if [ -f "$1" ]; then echo file; elif [ -d "$1" ]; then echo dir; elif [ -L "$1" ]; then echo broken; else echo missing; fi'

# Prints "same" when $1 and $2 resolve (links followed) to the same existing file, else "different".
TM_SAME_SH='a=$(readlink -e -- "$1") || a=""; b=$(readlink -e -- "$2") || b=""; if [ -n "$a" ] && [ "$a" = "$b" ]; then echo same; else echo different; fi'

# qemu-img info of $1 as JSON (shared lock, so a running VM's disk can be read), or NO_QEMU_IMG.
TM_INFO_SH='if command -v qemu-img >/dev/null 2>&1; then exec qemu-img info -U --output=json "$1"; fi; echo NO_QEMU_IMG'

# Copies file $1 to $2 keeping holes (and sharing blocks where the filesystem can), through a temporary name.
TM_COPY_SH='set -e
tmp="$2.ferry-tmp.$$"
trap "rm -f -- \"\$tmp\"" EXIT
trap "exit 143" HUP INT TERM
mkdir -p -- "$(dirname -- "$2")"
cp --reflink=auto --sparse=always -- "$1" "$tmp"
mv -f -- "$tmp" "$2"'

# Writes image $1 as format $2 to $3 with qemu-img convert (sparse), through a temporary name; $4, when given, is the -l snapshot selector.
TM_CONVERT_SH='set -e
tmp="$3.ferry-tmp.$$"
trap "rm -f -- \"\$tmp\"" EXIT
trap "exit 143" HUP INT TERM
mkdir -p -- "$(dirname -- "$3")"
if [ -n "${4:-}" ]; then
    qemu-img convert -q -U -l "$4" -O "$2" "$1" "$tmp"
else
    qemu-img convert -q -U -O "$2" "$1" "$tmp"
fi
mv -f -- "$tmp" "$3"'

# Creates $3 as a qcow2 overlay whose backing file is $1 (format $2), through a temporary name.
TM_OVERLAY_SH='set -e
tmp="$3.ferry-tmp.$$"
trap "rm -f -- \"\$tmp\"" EXIT
trap "exit 143" HUP INT TERM
qemu-img create -q -f qcow2 -F "$2" -b "$1" "$tmp"
mv -f -- "$tmp" "$3"'

# Runs the sh script $3 (which creates $1) and renames $1 to $2; $1 and $1.raw are removed on failure.
TM_MKFS_SH='set -e
PATH="$PATH:/usr/sbin:/sbin"
trap "rm -f -- \"\$1\" \"\$1.raw\"" EXIT
trap "exit 143" HUP INT TERM
sh -c "$3"
mv -f -- "$1" "$2"'

# Writes stdin to $1, through a temporary name.
TM_WRITE_SH='set -e
tmp="$1.ferry-tmp.$$"
trap "rm -f -- \"\$tmp\"" EXIT
trap "exit 143" HUP INT TERM
cat >"$tmp"
mv -f -- "$tmp" "$1"'

# Moves $1 to $2, making the folder of $2 first.
TM_MOVE_SH='set -e
mkdir -p -- "$(dirname -- "$2")"
mv -f -- "$1" "$2"'

# Moves every entry of folder $1 (hidden ones too) into the existing folder $2, then removes $1.
TM_MERGE_SH='set -e
for entry in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    mv -f -- "$entry" "$2"/
done
rmdir -- "$1"'

# tm_usage MIN USAGE ARGC: returns when ARGC >= MIN, else reports "usage: <driver>/<action> USAGE" and exits 2.
tm_usage() {
    [ "$3" -ge "$1" ] && return 0
    error_message "usage: $FERRY_SCRIPT_NAME $2"
    exit 2
}

# tm_id NAME VALUE: returns when VALUE is an integer >= -1 (a vm_id, ds_id or snap_id), else dies naming NAME.
tm_id() {
    case "$2" in
        -1) return 0 ;;
        '' | *[!0-9]*) die "$1 '$2' is not an integer id (-1 or more)" ;;
    esac
}

# tm_size NAME VALUE: returns when VALUE is a whole number (a size in MB, a snapshot id), else dies naming NAME.
tm_size() {
    case "$2" in
        '' | *[!0-9]*) die "$1 '$2' is not a whole number" ;;
    esac
}

# tm_split NAME ARG: sets TM_HOST and TM_PATH from "host:path" ARG (TM_HOST empty for a bare path, which is local); dies unless the path is absolute with no "." or ".." part.
tm_split() {
    TM_HOST=$(arg_host "$2")
    TM_PATH=$(arg_path "$2")
    case "$TM_PATH" in
        /*) ;;
        *) die "$1 '$2' is not host:/absolute/path" ;;
    esac
    case "$TM_PATH/" in
        */./* | */../*) die "$1 '$2' has a '.' or '..' in its path; give the path plainly" ;;
    esac
}

# tm_where HOST PATH: prints "HOST:PATH" for messages (localhost for an empty HOST).
tm_where() {
    printf '%s:%s\n' "${1:-localhost}" "$2"
}

# tm_vm_layout NAME PATH VM_ID: sets TM_LAYOUT to "folder" when PATH is <system_ds>/VM_ID, or "disk" when it is <system_ds>/VM_ID/<name>; dies for anything else ("/" included).
tm_vm_layout() {
    _vl_dir=${2%/*}
    if [ "${2##*/}" = "$3" ] && [ -n "$_vl_dir" ]; then
        TM_LAYOUT=folder
        return 0
    fi
    if [ "${_vl_dir##*/}" = "$3" ] && [ -n "${_vl_dir%/*}" ]; then
        TM_LAYOUT=disk
        return 0
    fi
    die "Refusing $1 '$2': it is neither the folder of VM $3 (<system_ds>/$3) nor a file in it"
}

# tm_query HOST CMD ARG...: runs the command on HOST and sets TM_OUT to its stdout; dies with its stderr when it fails or HOST cannot be reached (host_query, in scripts_common.sh).
tm_query() {
    _tq_host=$1
    shift
    # The query runs in $(...); `|| exit` ends the action even where set -e is off (if tm_same_file ...).
    TM_OUT=$(host_query "$_tq_host" "Cannot run $1" "$@") || exit
}

# tm_kind HOST PATH: sets TM_KIND to what PATH is on HOST: link, dir, file or missing.
tm_kind() {
    tm_query "$1" sh -c "$TM_KIND_SH" sh "$2"
    TM_KIND=$TM_OUT
}

# tm_image HOST PATH [WHAT]: returns when PATH is a file on HOST (links followed); else dies saying what it is (WHAT: Image, the default, or Disk).
tm_image() {
    _ti_what=${3:-Image}
    tm_query "$1" sh -c "$TM_IMAGE_SH" sh "$2"
    case "$TM_OUT" in
        file) return 0 ;;
        dir) die "$_ti_what $2 is a folder on ${1:-localhost}, not an image file" ;;
        broken) die "$_ti_what $2 on ${1:-localhost} is a link to a file that does not exist" ;;
    esac
    [ "$_ti_what" = Image ] &&
        die "Image $2 does not exist on ${1:-localhost} (on shared storage every host sees the image datastore at the same path)"
    die "$_ti_what $2 does not exist on ${1:-localhost}"
}

# tm_same_file HOST A B: succeeds when paths A and B name the same existing file on HOST (links resolved).
tm_same_file() {
    tm_query "$1" sh -c "$TM_SAME_SH" sh "$2" "$3"
    [ "$TM_OUT" = same ]
}

# tm_qemu_fields JSON: prints, one a line, the format, virtual-size, backing file (full-backing-filename, else backing-filename) and backing-filename-format of qemu-img's --output=json text (empty lines when absent), then a "." line.
tm_qemu_fields() {
    # Top-level keys only: qemu-img indents them by exactly four spaces.
    printf '%s\n' "$1" | awk '
        /^    "[^"]*": / {
            key = $0; sub(/^    "/, "", key); sub(/".*/, "", key)
            value = $0; sub(/^    "[^"]*": /, "", value); sub(/,$/, "", value)
            if (value ~ /^".*"$/) {
                value = substr(value, 2, length(value) - 2)
                gsub(/\\"/, "\"", value); gsub(/\\\\/, "\\", value)
            }
            if (!(key in field)) field[key] = value
        }
        END {
            backing = field["full-backing-filename"]
            if (backing == "") backing = field["backing-filename"]
            print field["format"]; print field["virtual-size"]; print backing; print field["backing-filename-format"]; print "."
        }'
}

# tm_info HOST FILE [optional]: sets TM_FORMAT, TM_VSIZE (bytes), TM_BACKING and TM_BACKING_FORMAT from qemu-img info; without qemu-img on HOST dies, or with "optional" takes FILE as raw without backing file.
tm_info() {
    tm_query "$1" sh -c "$TM_INFO_SH" sh "$2"
    if [ "$TM_OUT" = NO_QEMU_IMG ]; then
        [ "${3:-}" = optional ] || die "qemu-img is not installed on ${1:-localhost} (Debian package qemu-utils)"
        TM_FORMAT=raw
        TM_VSIZE=''
        TM_BACKING=''
        TM_BACKING_FORMAT=''
        return 0
    fi
    _in_fields=$(tm_qemu_fields "$TM_OUT")
    {
        IFS= read -r TM_FORMAT
        IFS= read -r TM_VSIZE
        IFS= read -r TM_BACKING
        IFS= read -r TM_BACKING_FORMAT
    } <<EOF_FIELDS
$_in_fields
EOF_FIELDS
    if [ -n "$TM_BACKING" ] && [ -z "$TM_BACKING_FORMAT" ]; then
        # Overlays made without -F do not record their backing file's format: ask the backing file.
        tm_query "$1" qemu-img info -U --output=json "$TM_BACKING"
        TM_BACKING_FORMAT=$(tm_qemu_fields "$TM_OUT" | head -n 1)
    fi
    [ -n "$TM_FORMAT" ] || die "qemu-img on ${1:-localhost} did not report the format of $2"
}

# tm_need_qcow2 HOST DISK WHAT: runs tm_info on DISK and dies unless it is a qcow2 image (WHAT names the operation in the message).
tm_need_qcow2() {
    tm_info "$1" "$2"
    [ "$TM_FORMAT" = qcow2 ] ||
        die "$3 needs a qcow2 disk: $(tm_where "$1" "$2") is $TM_FORMAT (use the qcow2 TM driver, or a qcow2 image)"
}

# tm_snapshot HOST DISK SNAP_ID: sets TM_SNAP_TAG to the qcow2 tag of snapshot SNAP_ID ("snap-SNAP_ID") and TM_SNAP to qemu's own id of DISK's snapshot with that tag (empty when there is none); dies when two carry it.
tm_snapshot() {
    # Tags are "snap-<id>", not the bare id: qemu-img snapshot -a takes "id or
    # tag" and tries qemu's own ids (1, 2, ...) first, so a bare "1" would hit
    # the snapshot whose qemu id is 1, which is tagged "0". tm/ssh and
    # datastore/fs use the same tags, so snapshots a VM took of a persistent
    # disk are the image's snapshots for the datastore's snap_* actions.
    TM_SNAP_TAG=$(qemu_snapshot_tag "$3" snap_id) || exit
    tm_query "$1" qemu-img snapshot -U -l "$2"
    TM_SNAP=$(printf '%s\n' "$TM_OUT" | awk -v tag="$TM_SNAP_TAG" 'NR > 2 && $2 == tag { print $1 }')
    case "$TM_SNAP" in
        *"
"*) die "$(tm_where "$1" "$2") has several snapshots tagged $TM_SNAP_TAG (qemu ids $(echo "$TM_SNAP" | tr '\n' ' ')); remove the extra ones with qemu-img snapshot -d <id>" ;;
    esac
}

# tm_host_sh HOST MESSAGE SCRIPT ARG...: runs the sh SCRIPT with ARG... as $1... on HOST; on failure dies with MESSAGE and the script's stderr.
tm_host_sh() {
    _hs_host=$1
    _hs_msg=$2
    _hs_script=$3
    shift 3
    ssh_exec_and_log "$_hs_host" -m "$_hs_msg" sh -c "$_hs_script" sh "$@"
}

# tm_copy HOST SRC DST: copies image SRC to DST on HOST (sparse-aware), making DST's folder.
tm_copy() {
    tm_host_sh "$1" "Cannot copy $2 to $(tm_where "$1" "$3")" "$TM_COPY_SH" "$2" "$3"
}

# tm_convert HOST SRC FORMAT DST [TAG]: writes SRC (or its internal snapshot tagged TAG) as a standalone FORMAT image DST on HOST.
tm_convert() {
    if [ -n "${5:-}" ]; then
        tm_host_sh "$1" "Cannot convert snapshot $5 of $2 to $(tm_where "$1" "$4")" "$TM_CONVERT_SH" "$2" "$3" "$4" "snapshot.name=$5"
    else
        tm_host_sh "$1" "Cannot convert $2 to $(tm_where "$1" "$4")" "$TM_CONVERT_SH" "$2" "$3" "$4"
    fi
}

# tm_overlay HOST BACKING FORMAT DST: creates DST on HOST as a qcow2 overlay of BACKING (of FORMAT).
tm_overlay() {
    tm_host_sh "$1" "Cannot create a qcow2 overlay of $2 at $(tm_where "$1" "$4")" "$TM_OVERLAY_SH" "$2" "$3" "$4"
}

# tm_move HOST SRC DST: moves SRC to DST on HOST (a rename on the same filesystem), making DST's folder.
tm_move() {
    tm_host_sh "$1" "Cannot move $2 to $(tm_where "$1" "$3")" "$TM_MOVE_SH" "$2" "$3"
}

# tm_merge HOST SRC DST: moves every entry of folder SRC into existing folder DST on HOST, then removes SRC.
tm_merge() {
    tm_host_sh "$1" "Cannot move the files of $2 into $(tm_where "$1" "$3")" "$TM_MERGE_SH" "$2" "$3"
}

# tm_write HOST DST < FILE: writes stdin to DST on HOST (over ssh for a remote host), making DST's folder first.
tm_write() {
    ssh_make_path "$1" "$(dirname -- "$2")"
    tm_host_sh "$1" "Cannot write $(tm_where "$1" "$2")" "$TM_WRITE_SH" "$2"
}

# tm_mkimage HOST PATH FORMAT SIZE_MB: creates PATH on HOST as an empty FORMAT (raw, qcow2 or swap) image of SIZE_MB MB with mkfs_command, making its folder.
tm_mkimage() {
    case "$3" in
        raw | qcow2 | swap) ;;
        *) die "Format '$3' is not raw, qcow2 or swap" ;;
    esac
    tm_size size "$4"
    _mi_tmp="$2.ferry-tmp.$$"
    _mi_script=$(mkfs_command "$_mi_tmp" "$3" "$4") || die "Cannot build the commands that create a $3 image of $4 MB"
    ssh_make_path "$1" "$(dirname -- "$2")"
    log_info "creating $(tm_where "$1" "$2"): $3, $4 MB"
    tm_host_sh "$1" "Cannot create $3 image $(tm_where "$1" "$2") of $4 MB" "$TM_MKFS_SH" "$_mi_tmp" "$2" "$_mi_script"
}
