#!/bin/bash
# Shared code of the fs datastore driver: every action sources this file
# (bash; it is not an action and has no run bit). It loads ferry's helper
# library and installs the clean-up trap that keeps the datastore free of
# partial files: every temporary file is created next to its final name
# (same folder, so the last step is an atomic rename) under a prefix that
# fs_cleanup removes on any exit: success, failure, `die`, or a signal
# (SIGTERM from ferry's timeout, SIGINT, SIGHUP).
#
# Image sources are files BASE_PATH/<md5 of a unique string>. Snapshots are
# internal qcow2 snapshots: OpenNebula snapshot id N is the one tagged
# "snap-N" (see README.md).

# shellcheck source-path=SCRIPTDIR source=../../../scripts_common.sh
. "$(dirname "$0")/../../scripts_common.sh"

# Temp-file name prefixes of this run: every file whose name starts with one is removed on exit.
FS_CLEANUP_PREFIXES=()
# The file fs_exec captures a command's stderr in (outside the datastore, which may be full).
FS_ERR_FILE=''
# The temporary file fs_start_tmp created last.
FS_TMP=''
# The datastore folder, once fs_base_path validated it (for messages).
FS_BASE=''

# fs_cleanup: removes this run's temporary files (registered prefixes) and the stderr capture; no output.
fs_cleanup() {
    local prefix file
    for prefix in "${FS_CLEANUP_PREFIXES[@]}"; do
        for file in "$prefix"*; do
            if [ -e "$file" ] || [ -L "$file" ]; then
                rm -rf -- "$file" || log_warn "cannot remove temporary file $file"
            fi
        done
    done
    if [ -n "$FS_ERR_FILE" ]; then
        rm -f -- "$FS_ERR_FILE"
    fi
}
trap fs_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# fs_require CMD [PACKAGE]: dies naming the Debian PACKAGE to install (or the package that provides CMD) when CMD is not on PATH; no output.
fs_require() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ -n "${2:-}" ]; then
        die "$1 is not installed on $(hostname 2>/dev/null || echo this host): install the Debian package $2"
    fi
    die "$1 is not installed on $(hostname 2>/dev/null || echo this host): install the package that provides it"
}

# fs_base_path: prints the datastore folder (FERRY_DS_BASE_PATH, cleaned); dies when it is empty, relative or not a folder.
fs_base_path() {
    local base=${FERRY_DS_BASE_PATH:-}
    [ -n "$base" ] || die "Datastore ${FERRY_DS_ID:-?} has no BASE_PATH (DATASTORE/BASE_PATH or DATASTORE/TEMPLATE/BASE_PATH): set it to the datastore folder"
    case "$base" in
        /*) ;;
        *) die "Datastore ${FERRY_DS_ID:-?} BASE_PATH '$base' is not an absolute path" ;;
    esac
    [ -e "$base" ] || die "Datastore ${FERRY_DS_ID:-?} BASE_PATH $base does not exist: create the folder first"
    [ -d "$base" ] || die "Datastore ${FERRY_DS_ID:-?} BASE_PATH $base is not a folder"
    clean_path "$base"
}

# fs_new_source BASE: prints a new image source BASE/<md5 of a unique string> that does not exist yet.
fs_new_source() {
    local base=$1 try=0 hash
    while [ "$try" -lt 100 ]; do
        hash=$(printf '%s:%s:%s:%s:%s:%s' "${FERRY_DS_ID:-}" "${FERRY_IMAGE_ID:-}" "$(date +%s.%N)" "$$" "$RANDOM" "$try" | md5sum | cut -d ' ' -f 1)
        if [ ! -e "$base/$hash" ] && [ ! -L "$base/$hash" ]; then
            printf '%s/%s\n' "$base" "$hash"
            return 0
        fi
        try=$((try + 1))
    done
    die "Cannot find an unused image name in $base"
}

# fs_start_tmp DEST: creates a private temporary folder next to DEST, named DIR/.NAME.ferry-tmp.PID.image-ID-XXXXXX (ferry_tmp_name; ID: the image's), and sets FS_TMP to a new file in it (removed on exit unless committed); no output.
fs_start_tmp() {
    local prefix tag=XXXXXX
    prefix=$(ferry_tmp_name "$1")
    # The image id in the name tells `ferry datastore check` and `ferry image recover` whose leftover it is.
    case "${FERRY_IMAGE_ID:-}" in
        '' | *[!0-9]*) ;;
        *) tag="image-$FERRY_IMAGE_ID-XXXXXX" ;;
    esac
    # Registered before the file exists, so a signal between the two leaves nothing.
    FS_CLEANUP_PREFIXES+=("$prefix.")
    # A private folder holding a file that does not exist yet: GNU cp onto an existing empty file is
    # about twice as slow as onto a new one (measured on a 1 GiB sparse image).
    local tmpdir
    tmpdir=$(mktemp -d -- "$prefix.$tag") || die "Cannot create a temporary folder in ${1%/*}"
    # shellcheck disable=SC2034 # read by the sourcing action
    FS_TMP="$tmpdir/image"
}

# fs_commit TMP DEST [REFERENCE]: gives TMP REFERENCE's mode (default 0666 less the umask) and renames it to DEST atomically; no output.
fs_commit() {
    if [ -n "${3:-}" ]; then
        chmod --reference="$3" -- "$1"
    else
        chmod "$(printf '%04o' $((0666 & ~$(umask))))" -- "$1"
    fi
    fs_exec -m "Cannot rename $1 to $2" mv -f -T -- "$1" "$2"
}

# fs_exec [-m MESSAGE] CMD ARG...: runs the command (its stdout to stderr); on failure dies with MESSAGE and the command's stderr, calling a full disk a full datastore.
fs_exec() {
    local msg='' status err
    if [ "${1:-}" = "-m" ]; then
        msg=$2
        shift 2
    fi
    if [ -z "$FS_ERR_FILE" ]; then
        FS_ERR_FILE=$(mktemp -- "${TMPDIR:-/tmp}/ferry-fs-err.XXXXXX") || die "Cannot create a temporary file in ${TMPDIR:-/tmp}"
    fi
    # One log line per command: a multi-line argument (an sh -c script) would otherwise spill unprefixed lines into stderr.
    log_debug "running: $(shell_quote "$@")"
    if "$@" >&2 2>"$FS_ERR_FILE"; then
        return 0
    else
        status=$?
    fi
    # The first lines (curl and most tools say what failed there) and the last ones (where others end up), at most 5.
    err=$(awk '{ line[NR] = $0 } END { for (i = 1; i <= NR; i++) if (NR <= 5 || i <= 2 || i > NR - 3) printf "%s%s", line[i], (NR > 5 && i == 2 ? " ... " : " ") }' "$FS_ERR_FILE" | sed 's/ *$//')
    log_error "command failed (status $status): $(shell_quote "$@" | tr '\n' ' ')${err:+: $err}"
    msg=${msg:-Error executing $(shell_quote "$@" | tr '\n' ' ')}
    case "$err" in
        *"No space left on device"* | *"Disk quota exceeded"*)
            die "$msg: datastore ${FS_BASE:-folder} is full (no space left on device)${err:+: $err}"
            ;;
    esac
    die "$msg${err:+: $err}"
}

# fs_local_path PATH: prints PATH without a leading file:// (a local path as is).
fs_local_path() {
    case "$1" in
        file://*) printf '%s\n' "${1#file://}" ;;
        *) printf '%s\n' "$1" ;;
    esac
}

# fs_within PATH DIR: succeeds when PATH is DIR or lies inside it, links resolved; DIR may be /.
fs_within() {
    local path dir
    path=$(realpath -m -- "$1")
    dir=$(realpath -m -- "$2")
    # inside_dir cannot take / (it would look for "//..."), so / is handled here.
    [ "$dir" = / ] || [ "$path" = "$dir" ] || inside_dir "$path" "$dir"
}

# fs_check_restricted PATH: dies when PATH lies in one of the datastore's RESTRICTED_DIRS and in none of its SAFE_DIRS; no output.
fs_check_restricted() {
    local dir
    local -a safe restricted
    read -r -a safe <<<"${FERRY_DS_TEMPLATE_SAFE_DIRS:-}"
    read -r -a restricted <<<"${FERRY_DS_TEMPLATE_RESTRICTED_DIRS:-}"
    for dir in "${safe[@]}"; do
        fs_within "$1" "$dir" && return 0
    done
    for dir in "${restricted[@]}"; do
        if fs_within "$1" "$dir"; then
            die "Not allowed to copy images from $dir (RESTRICTED_DIRS of datastore ${FERRY_DS_ID:-?}; SAFE_DIRS: ${FERRY_DS_TEMPLATE_SAFE_DIRS:-none}): $1"
        fi
    done
}

# fs_check_inside PATH BASE: dies unless PATH lies strictly inside the datastore folder BASE (links resolved); no output.
fs_check_inside() {
    inside_dir "$1" "$2" || die "Refusing to touch $1: it is not inside the datastore folder $2 (BASE_PATH)"
}

# fs_download URL FILE: writes the http(s) URL's body into FILE, runs of zeros left as holes; status of curl or dd.
fs_download() {
    curl -fsSL --proto '=http,https' --proto-redir '=http,https' --connect-timeout 60 -- "$1" |
        dd of="$2" bs=1M iflag=fullblock conv=sparse status=none
}

# fs_refuse_backing FILE WHAT: dies when FILE is a qcow2 image with a backing file (it would read a file outside the datastore); no output.
fs_refuse_backing() {
    local info
    [ "$(image_format "$1")" = qcow2 ] || return 0
    info=$(qemu-img info --output=json -- "$1") || die "Cannot read the qcow2 header of $2"
    case "$info" in
        *'"backing-filename"'*) die "Refusing $2: it is a qcow2 image with a backing file; convert it to a standalone image first (qemu-img convert -O qcow2)" ;;
    esac
}

# fs_verify_checksums FILE WHAT: checks FILE against the image template's MD5 and SHA1 when set; dies on a mismatch; no output.
fs_verify_checksums() {
    local algo expected actual digits
    for algo in MD5 SHA1; do
        if [ "$algo" = MD5 ]; then
            expected=${FERRY_IMAGE_TEMPLATE_MD5:-}
            digits=32
        else
            expected=${FERRY_IMAGE_TEMPLATE_SHA1:-}
            digits=40
        fi
        expected=$(printf '%s' "$expected" | tr -d ' \t\r\n' | tr 'A-F' 'a-f')
        [ -n "$expected" ] || continue
        if [ "${#expected}" -ne "$digits" ] || [ -n "${expected//[0-9a-f]/}" ]; then
            die "$algo '$expected' in the image template is not a $digits-digit hexadecimal checksum"
        fi
        if [ "$algo" = MD5 ]; then
            actual=$(md5sum <"$1")
        else
            actual=$(sha1sum <"$1")
        fi
        actual=${actual%% *}
        [ "$actual" = "$expected" ] || die "$algo checksum mismatch for $2: expected $expected, got $actual"
        log_info "$algo checksum of $2 verified ($actual)"
    done
}

# fs_snapshot_tag: prints the qcow2 snapshot tag (snap-N, qemu_snapshot_tag) of TARGET_SNAPSHOT N; dies when it is not a whole number.
fs_snapshot_tag() {
    local id=${FERRY_TARGET_SNAPSHOT:-}
    [ -n "$id" ] || die "The dump has no TARGET_SNAPSHOT: which snapshot?"
    qemu_snapshot_tag "$id" TARGET_SNAPSHOT || exit
}

# fs_snapshot_tags FILE: prints the tags of FILE's internal qcow2 snapshots, one a line.
fs_snapshot_tags() {
    local list
    list=$(qemu-img snapshot -l -- "$1") || return 1
    # Lines after the two headers: ID TAG VM-SIZE ...; a tag with spaces would move VM-SIZE off the third field and is skipped.
    printf '%s\n' "$list" | awk 'NR > 2 && $3 ~ /^[0-9.]+$/ { print $2 }'
}

# fs_snapshot_image BASE: prints the image SOURCE after checking it lies in BASE, exists, and is a qcow2 image; dies otherwise.
fs_snapshot_image() {
    local src=${FERRY_IMAGE_SOURCE:-} format
    [ -n "$src" ] || die "Image ${FERRY_IMAGE_ID:-?} has no SOURCE"
    fs_check_inside "$src" "$1"
    [ -f "$src" ] || die "Image file $src does not exist"
    fs_require qemu-img qemu-utils
    format=$(image_format "$src")
    [ "$format" = qcow2 ] || die "Image $src is ${format:-of an unknown format}, not qcow2: this driver keeps snapshots inside qcow2 images, so a ${format:-non-qcow2} image has none"
    printf '%s\n' "$src"
}

# fs_require_snapshot FILE TAG: dies when FILE has no internal snapshot tagged TAG, listing those it has; no output.
fs_require_snapshot() {
    local tags
    tags=$(fs_snapshot_tags "$1") || die "Cannot list the snapshots of $1"
    if ! printf '%s\n' "$tags" | grep -qxF -- "$2"; then
        die "Snapshot ${FERRY_TARGET_SNAPSHOT:-?} not found in $1: no internal snapshot tagged $2 (it has: $(printf '%s' "$tags" | tr '\n' ' ' | sed 's/ *$//' | grep . || echo none))"
    fi
}
