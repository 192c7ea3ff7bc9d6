#!/usr/bin/env bash
# Installs the Debian packages ferry needs, only when a command is missing:
# a C++ toolchain and python3 for better-sqlite3, which npm ci builds from
# source here, a C compiler for ferry-spawn, and the tools the tests and drivers use
# (ruby: OpenNebula's own driver processes and xpath.rb, which the tests compare ferry with; PostgreSQL 15 for the
# catalog tests on PostgreSQL, which start a throwaway server). Needs root to install; without root it names the command to run.
set -euo pipefail

# command -> Debian package that provides it
declare -A PACKAGE_OF=(
    [g++]=g++
    [cc]=gcc
    [make]=make
    [python3]=python3
    [shellcheck]=shellcheck
    [flock]=util-linux
    [setsid]=util-linux
    [unshare]=util-linux
    [qemu-img]=qemu-utils
    [sshd]=openssh-server
    [ssh]=openssh-client
    [ssh-keygen]=openssh-client
    [xorriso]=xorriso
    [curl]=curl
    [openssl]=openssl
    [mkfs.ext4]=e2fsprogs
    [ruby]=ruby
    [promtool]=prometheus
    [prometheus]=prometheus
    [chromium]=chromium
    [runuser]=util-linux
)

# Programs off the PATH (Debian keeps PostgreSQL's server programs in a versioned folder) -> the packages that provide them.
declare -A PACKAGES_OF_FILE=(
    [/usr/lib/postgresql/15/bin/initdb]="postgresql-15 postgresql-client-15"
)

# sshd and mkfs live in sbin, which a non-root PATH may lack.
PATH="$PATH:/usr/sbin:/sbin"
missing=()
for cmd in "${!PACKAGE_OF[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${PACKAGE_OF[$cmd]}")
done
for file in "${!PACKAGES_OF_FILE[@]}"; do
    # shellcheck disable=SC2206 # the value is a space-separated list of package names
    [ -x "$file" ] || missing+=(${PACKAGES_OF_FILE[$file]})
done
[ "${#missing[@]}" -eq 0 ] && exit 0

mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
    echo "ferry: missing Debian packages: ${packages[*]}" >&2
    echo "ferry: install them with: sudo apt-get install -y ${packages[*]}" >&2
    exit 1
fi
echo "ferry: installing Debian packages: ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
