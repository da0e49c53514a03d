#!/usr/bin/env bash
# A QEMU guest with emulated Intel 82576 (igb) SR-IOV NICs, for tests against a real SR-IOV driver.
#
#   scripts/sriov-vm.sh build                               install QEMU (bookworm-backports), the kernel and busybox
#                                                           with apt; cache vmlinuz + initramfs (fast when cached)
#   scripts/sriov-vm.sh run [--nics N] [--timeout S] SCRIPT [ARGS...]
#                                                           boot a guest with N igb NICs (default 2), run
#                                                           `bash SCRIPT ARGS` as root in it, exit with its status
#   scripts/sriov-vm.sh status                              say whether the cache is there; exit 1 if not
#
# The guest runs Debian's bookworm-backports kernel (6.12) under TCG (nested KVM fails on these machines), with a
# virtual Intel IOMMU, each igb NIC behind its own PCIe root port. Its root filesystem is the host's `/` (as this
# process sees it, so a bind-mounted worktree is there too) shared read-only over 9p under an overlay whose upper
# layer is a tmpfs: the guest runs the host's own binaries and its writes vanish when it powers off. Fresh proc, sysfs,
# devtmpfs and a tmpfs /run are mounted; the script runs in the caller's working directory when the guest can see it.
# The console is streamed to standard output; the script's exit status is printed there as `SRIOV-VM-EXIT-STATUS: N`
# and becomes this command's exit status (124: the guest was killed after the timeout; 125: the guest stopped
# without reporting a status).
#
# Environment:
#   SRIOV_VM_CACHE     cache directory (default /var/cache/sriov-operator/vm)
#   SRIOV_VM_TIMEOUT   default for --timeout, in seconds (default 600)
#   SRIOV_VM_MEMORY    guest memory in MiB (default 2048)
#   SRIOV_VM_SMP       guest CPUs (default 2)
#   SRIOV_VM_BOOT_TIMEOUT   seconds a guest may take to start the script before it is killed and booted again
#                           (default 180)
#   SRIOV_VM_BOOT_ATTEMPTS  boots before giving up with exit status 125 (default 3)
set -Eeuo pipefail
on_error() {
    local rc=$?
    printf '[sriov-vm] error: "%s" failed (exit %s, line %s)\n' "${BASH_COMMAND%%$'\n'*}" "$rc" "${BASH_LINENO[0]}" >&2
}
trap on_error ERR

CACHE="${SRIOV_VM_CACHE:-/var/cache/sriov-operator/vm}"
QEMU=qemu-system-x86_64
HOST_PACKAGES=(busybox-static xz-utils kmod)
BACKPORTS_PACKAGES=(qemu-system-x86)
# Modules the guest loads (with their dependencies, resolved from the kernel package): 9p root, overlay, the igb PF
# and igbvf VF drivers, veth/tun/bridge for tests, and vfio-pci behind the virtual IOMMU.
GUEST_MODULES=(9pnet_virtio 9p overlay igb igbvf veth tun bridge vfio vfio_iommu_type1 vfio-pci)

log() { printf '[sriov-vm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# ---------------------------------------------------------------------------------------------------------------------
# apt

APT_UPDATED=0
apt_update_once() {
    if [ "$APT_UPDATED" = 0 ]; then
        log "apt-get update"
        apt-get update -qq >&2
        APT_UPDATED=1
    fi
}

is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Installs the given packages that are missing; `-t SUITE` first to take them from that suite.
ensure_packages() {
    local target=()
    if [ "${1:-}" = -t ]; then
        target=(-t "$2")
        shift 2
    fi
    local missing=() p
    for p in "$@"; do is_installed "$p" || missing+=("$p"); done
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
    apt_update_once
    log "apt-get install ${target[*]} ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${target[@]}" "${missing[@]}" >&2
}

# Adds bookworm-backports as an apt source with the URI and keyring of the machine's Debian source, unless a
# bookworm-backports source is configured already.
ensure_backports() {
    local d=/etc/apt/sources.list.d f
    for f in /etc/apt/sources.list "$d"/*.list "$d"/*.sources; do
        [ -e "$f" ] || continue
        if grep -vE '^[[:space:]]*#' "$f" | grep -qE '(^|[[:space:]])bookworm-backports([[:space:]]|$)'; then
            return 0
        fi
    done
    local uri="" keyring=""
    for f in "$d"/*.sources; do
        [ -e "$f" ] || continue
        # The first deb822 stanza of type deb for suite bookworm on a Debian mirror (not debian-security).
        read -r uri keyring < <(awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && suites ~ /(^| )bookworm( |$)/ && uris ~ /debian\/?$/ && uris !~ /security/ && !done) {
                    print uris, (keyring == "" ? "-" : keyring); done = 1
                }
                types = ""; suites = ""; uris = ""; keyring = ""
            }
            /^[[:space:]]*#/ { next }
            /^[[:space:]]*$/ { flush(); next }
            { key = $1; sub(/:$/, "", key); $1 = ""; sub(/^ /, ""); val = $0 }
            key == "Types" { types = val } key == "Suites" { suites = val }
            key == "URIs" { split(val, u, " "); uris = u[1] } key == "Signed-By" { keyring = val }
            END { flush() }' "$f") || true
        [ -n "$uri" ] && break
    done
    if [ -n "$uri" ]; then
        {
            echo "Types: deb"
            echo "URIs: $uri"
            echo "Suites: bookworm-backports"
            echo "Components: main"
            [ "$keyring" != "-" ] && echo "Signed-By: $keyring"
        } >"$d/sriov-operator-backports.sources"
        log "added bookworm-backports ($uri) in $d/sriov-operator-backports.sources"
    else
        # One-line format: copy the first `deb … bookworm main` line with the suite replaced.
        local line=""
        for f in /etc/apt/sources.list "$d"/*.list; do
            [ -e "$f" ] || continue
            line="$(grep -hE '^[[:space:]]*deb[[:space:]].*debian/?[[:space:]]+bookworm[[:space:]]' "$f" | grep -v security |
                head -n1)" || true
            [ -n "$line" ] && break
        done
        [ -n "$line" ] || die "found no Debian bookworm apt source to derive bookworm-backports from"
        sed -E 's/[[:space:]]bookworm[[:space:]].*/ bookworm-backports main/' <<<"$line" >"$d/sriov-operator-backports.list"
        log "added bookworm-backports in $d/sriov-operator-backports.list"
    fi
    APT_UPDATED=0
}

qemu_has_igb() { command -v "$QEMU" >/dev/null && "$QEMU" -device help 2>/dev/null | grep -q '"igb"'; }

# ---------------------------------------------------------------------------------------------------------------------
# guest image

# PID 1 of the guest (busybox sh). Reads the job directory from the kernel command line (sriov_vm.job=DIR).
guest_init() {
    cat <<'INIT'
#!/bin/busybox sh
# PID 1 of the sriov-vm guest, generated by scripts/sriov-vm.sh.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
stty -onlcr </dev/console 2>/dev/null
say() { echo "sriov-vm-guest: $*"; }
finish() {
    echo "SRIOV-VM-EXIT-STATUS: $1"
    sync
    poweroff -f
    sleep 2
    reboot -f
}
fail() {
    say "error: $*"
    finish 125
}
for m in $(cat /modules.order); do
    insmod "/lib/modules/$m.ko" || say "warning: insmod $m failed"
done
job=""
for word in $(cat /proc/cmdline); do
    case "$word" in sriov_vm.job=*) job="${word#sriov_vm.job=}" ;; esac
done
[ -n "$job" ] || fail "no sriov_vm.job= on the kernel command line"
mkdir -p /lower /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower ||
    fail "cannot mount the host's root filesystem over 9p"
mount -t tmpfs -o mode=0755 tmpfs /rw && mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
    fail "cannot mount the overlay root"
mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/run
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/dev/shm
mount -t tmpfs -o mode=0755 tmpfs /newroot/run
[ -r "/newroot$job/job.sh" ] || fail "cannot read $job/job.sh in the guest"
hostname sriov-vm
# Keep kernel messages off the console from here on, so they do not interleave with the script's output.
echo 1 >/proc/sys/kernel/printk
echo "SRIOV-VM-SCRIPT-BEGIN"
chroot /newroot /bin/bash "$job/job.sh" </dev/null
finish $?
INIT
}

# A recipe stamp: a rebuild happens when the init, the module list or this format changes.
recipe_stamp() {
    { guest_init; echo "${GUEST_MODULES[*]}"; echo format-2; } | sha256sum | cut -c1-16
}

cache_complete() {
    [ -s "$CACHE/vmlinuz" ] && [ -s "$CACHE/initramfs.gz" ] && [ -s "$CACHE/stamp" ] &&
        grep -qx "recipe=$(recipe_stamp)" "$CACHE/stamp"
}

# Appends `NAME FILE` to $MODLIST for `name` and its dependencies (dependencies first), skipping built-in ones and
# those already listed.
resolve_module() {
    local root="$1" name="$2" file deps dep
    local key="${name//-/_}"
    case " $RESOLVED " in *" $key "*) return 0 ;; esac
    RESOLVED+=" $key"
    file="$(find "$root/kernel" -name "$name.ko*" -o -name "${name//_/-}.ko*" -o -name "${name//-/_}.ko*" | head -n1)"
    if [ -z "$file" ]; then
        if grep -qE "/(${name//-/_}|${name//_/-})\.ko$" "$root/modules.builtin" 2>/dev/null; then
            return 0
        fi
        die "module $name is neither in the kernel package nor built in"
    fi
    deps="$(modinfo -F depends "$file")"
    for dep in ${deps//,/ }; do resolve_module "$root" "$dep"; done
    echo "$name $file" >>"$MODLIST"
}

cmd_build() {
    local t0=$SECONDS
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock"
    flock 9
    if cache_complete && qemu_has_igb && is_installed busybox-static; then
        log "cached: $(sed -n 's/^kernel=//p' "$CACHE/stamp") kernel and initramfs in $CACHE; $("$QEMU" --version | head -n1)"
        return 0
    fi
    [ "$(id -u)" = 0 ] || die "build needs root (apt-get)"

    log "step 1/4: apt: bookworm-backports, ${BACKPORTS_PACKAGES[*]} (backports), ${HOST_PACKAGES[*]}"
    ensure_backports
    ensure_packages "${HOST_PACKAGES[@]}"
    if ! qemu_has_igb; then
        apt_update_once
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            -t bookworm-backports "${BACKPORTS_PACKAGES[@]}" >&2
    fi
    qemu_has_igb || die "$QEMU has no igb device after installing qemu-system-x86 from bookworm-backports"
    log "$("$QEMU" --version | head -n1)"

    log "step 2/4: the bookworm-backports 6.12 kernel package"
    apt_update_once
    local pkg
    pkg="$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' | awk '{print $1}' | sort -V |
        tail -n1)"
    [ -n "$pkg" ] || die "no linux-image-6.12.*-amd64-unsigned package in the apt sources (bookworm-backports missing?)"
    local work="$CACHE/work"
    rm -rf "$work"
    mkdir -p "$work/download" "$work/kernel" "$work/initramfs"
    chown _apt "$work/download" 2>/dev/null || true
    (cd "$work/download" && apt-get download -qq "$pkg" >&2)
    local deb
    deb="$(find "$work/download" -name '*.deb' | head -n1)"
    [ -n "$deb" ] || die "apt-get download $pkg gave no .deb"
    dpkg-deb -x "$deb" "$work/kernel"
    local vmlinuz version
    vmlinuz="$(find "$work/kernel/boot" -name 'vmlinuz-*' | head -n1)"
    [ -n "$vmlinuz" ] || die "$pkg has no /boot/vmlinuz-*"
    version="${vmlinuz##*/vmlinuz-}"
    log "$pkg: kernel $version"

    log "step 3/4: initramfs (busybox, init, modules)"
    local root="$work/kernel/lib/modules/$version" ir="$work/initramfs"
    [ -d "$root" ] || root="$work/kernel/usr/lib/modules/$version"
    [ -d "$root" ] || die "$pkg has no lib/modules/$version"
    mkdir -p "$ir/bin" "$ir/lib/modules" "$ir/proc" "$ir/sys" "$ir/dev"
    cp /bin/busybox "$ir/bin/busybox"
    "$ir/bin/busybox" --help >/dev/null 2>&1 || true
    guest_init >"$ir/init"
    chmod 755 "$ir/init"
    RESOLVED=""
    MODLIST="$work/modules"
    : >"$MODLIST"
    local m name file
    for m in "${GUEST_MODULES[@]}"; do resolve_module "$root" "$m"; done
    : >"$ir/modules.order"
    while read -r name file; do
        case "$file" in
        *.xz) xz -dc "$file" >"$ir/lib/modules/$name.ko" ;;
        *.zst) zstd -qdc "$file" >"$ir/lib/modules/$name.ko" ;;
        *) cp "$file" "$ir/lib/modules/$name.ko" ;;
        esac
        echo "$name" >>"$ir/modules.order"
    done <"$MODLIST"
    log "modules: $(tr '\n' ' ' <"$ir/modules.order")"
    (cd "$ir" && find . -mindepth 1 | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null) | gzip -6 >"$CACHE/initramfs.gz.tmp"
    cp "$vmlinuz" "$CACHE/vmlinuz.tmp"
    mv "$CACHE/vmlinuz.tmp" "$CACHE/vmlinuz"
    mv "$CACHE/initramfs.gz.tmp" "$CACHE/initramfs.gz"
    printf 'kernel=%s\npackage=%s\nrecipe=%s\n' "$version" "$pkg" "$(recipe_stamp)" >"$CACHE/stamp"

    log "step 4/4: clean up"
    rm -rf "$work"
    log "done in $((SECONDS - t0)) s: $CACHE ($(du -sh "$CACHE" | cut -f1)); try: $0 run SCRIPT"
}

# ---------------------------------------------------------------------------------------------------------------------
# run

shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

cmd_run() {
    local nics=2 timeout="${SRIOV_VM_TIMEOUT:-600}"
    while [ $# -gt 0 ]; do
        case "$1" in
        --nics)
            nics="${2:-}"
            shift 2 || die "--nics needs a value"
            ;;
        --nics=*)
            nics="${1#--nics=}"
            shift
            ;;
        --timeout)
            timeout="${2:-}"
            shift 2 || die "--timeout needs a value"
            ;;
        --timeout=*)
            timeout="${1#--timeout=}"
            shift
            ;;
        --)
            shift
            break
            ;;
        -*) die "run: unknown option $1 (usage: $0 run [--nics N] [--timeout S] SCRIPT [ARGS...])" ;;
        *) break ;;
        esac
    done
    [ $# -ge 1 ] || die "run: no SCRIPT (usage: $0 run [--nics N] [--timeout S] SCRIPT [ARGS...])"
    [[ "$nics" =~ ^[0-9]+$ ]] && [ "$nics" -ge 0 ] && [ "$nics" -le 8 ] || die "--nics $nics: expected 0 to 8"
    [[ "$timeout" =~ ^[0-9]+$ ]] && [ "$timeout" -ge 1 ] || die "--timeout $timeout: expected whole seconds ≥ 1"
    local script="$1"
    shift
    [ -f "$script" ] || die "no script at $script"
    script="$(realpath "$script")"
    cache_complete || die "no guest image in $CACHE (run: $0 build)"
    qemu_has_igb || die "$QEMU with the igb device is not installed (run: $0 build)"

    local job
    job="$(mktemp -d /tmp/sriov-vm.XXXXXXXX)"
    chmod 755 "$job"
    # shellcheck disable=SC2064
    # Also stops a guest still running when this script is interrupted (the guest runs in the background).
    trap "for p in \$(jobs -p); do pkill -KILL -P \$p; kill -KILL \$p; done 2>/dev/null; rm -rf $(shq "$job")" EXIT
    cp "$script" "$job/script"
    {
        echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb"
        echo "export SRIOV_VM_GUEST=1 SRIOV_VM_NICS=$nics"
        printf 'cd -- %s 2>/dev/null || { printf "sriov-vm: %%s is not visible in the guest; running in /\\n" %s >&2; cd /; }\n' \
            "$(shq "$PWD")" "$(shq "$PWD")"
        printf 'script=%s\n' "$(shq "$script")"
        printf '[ -r "$script" ] || script=%s\n' "$(shq "$job/script")"
        printf 'exec bash -- "$script"'
        local a
        for a in "$@"; do printf ' %s' "$(shq "$a")"; done
        echo
    } >"$job/job.sh"

    local args=(
        -accel tcg,thread=multi -cpu max -m "${SRIOV_VM_MEMORY:-2048}" -smp "${SRIOV_VM_SMP:-2}"
        -machine q35,kernel-irqchip=split -nodefaults -no-reboot -display none -vga none
        -device intel-iommu,intremap=on,caching-mode=on
        -chardev stdio,id=console,signal=off -serial chardev:console
        -kernel "$CACHE/vmlinuz" -initrd "$CACHE/initramfs.gz"
        -append "console=ttyS0 quiet panic=-1 intel_iommu=on iommu=pt sriov_vm.job=$job"
        -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on
    )
    local i
    for ((i = 1; i <= nics; i++)); do
        args+=(-device "pcie-root-port,id=rp$i,chassis=$i,slot=$i"
            -netdev "user,id=n$i,restrict=on" -device "igb,netdev=n$i,bus=rp$i,romfile=")
    done

    # A boot watchdog: TCG guests on these machines occasionally wedge in early boot (one vCPU stops taking timer
    # interrupts: endless "rcu_preempt detected stalls", no output, no progress). A guest that has not started the
    # script within SRIOV_VM_BOOT_TIMEOUT seconds is killed and booted again, up to SRIOV_VM_BOOT_ATTEMPTS times; a
    # guest that did start the script is never restarted (the script may have side effects on the host's view).
    local boot_timeout="${SRIOV_VM_BOOT_TIMEOUT:-180}" attempts="${SRIOV_VM_BOOT_ATTEMPTS:-3}"
    [[ "$boot_timeout" =~ ^[0-9]+$ ]] && [ "$boot_timeout" -ge 1 ] || die "SRIOV_VM_BOOT_TIMEOUT=$boot_timeout: expected seconds ≥ 1"
    [[ "$attempts" =~ ^[0-9]+$ ]] && [ "$attempts" -ge 1 ] || die "SRIOV_VM_BOOT_ATTEMPTS=$attempts: expected a count ≥ 1"
    local t0=$SECONDS rc=0 attempt hung qpid tpid started
    trap - ERR
    set +e
    for ((attempt = 1; attempt <= attempts; attempt++)); do
        log "booting a guest with $nics igb NIC(s), timeout $timeout s (attempt $attempt of $attempts): bash $script $*"
        : >"$job/console"
        timeout -k 10 "$timeout" "$QEMU" "${args[@]}" </dev/null >"$job/console" 2>&1 &
        qpid=$!
        tail -n +1 -s 0.2 -f --pid="$qpid" "$job/console" &
        tpid=$!
        hung=0 started=$SECONDS
        while kill -0 "$qpid" 2>/dev/null; do
            if grep -q "SRIOV-VM-SCRIPT-BEGIN" "$job/console" 2>/dev/null; then break; fi
            if [ $((SECONDS - started)) -ge "$boot_timeout" ]; then
                hung=1
                # SIGKILL: a wedged QEMU ignores SIGTERM (its main loop never gets the lock back from the vCPU).
                pkill -KILL -P "$qpid" 2>/dev/null
                kill -KILL "$qpid" 2>/dev/null
                break
            fi
            sleep 0.5
        done
        wait "$qpid"
        rc=$?
        wait "$tpid" 2>/dev/null
        [ "$hung" = 1 ] || break
        log "warning: the guest did not start the script within $boot_timeout s (wedged in boot); killed it"
    done
    set -e
    trap on_error ERR
    if [ "$hung" = 1 ]; then
        log "error: the guest wedged in boot $attempts time(s) (no SRIOV-VM-SCRIPT-BEGIN within $boot_timeout s each)"
        exit 125
    fi
    local status
    status="$(tr -d '\r' <"$job/console" | sed -n 's/^SRIOV-VM-EXIT-STATUS: \([0-9][0-9]*\)$/\1/p' | tail -n1)"
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        log "error: the guest did not finish within $timeout s and was killed (script: $script)"
        exit 124
    fi
    if [ -z "$status" ]; then
        log "error: the guest stopped (QEMU exit $rc) without reporting the script's exit status (see the console above)"
        exit 125
    fi
    log "script exit status $status after $((SECONDS - t0)) s"
    exit "$status"
}

cmd_status() {
    local ok=0
    if cache_complete; then
        echo "guest: kernel $(sed -n 's/^kernel=//p' "$CACHE/stamp"), initramfs in $CACHE"
    else
        echo "guest: not built in $CACHE (run: $0 build)"
        ok=1
    fi
    if qemu_has_igb; then
        echo "qemu: $("$QEMU" --version | head -n1) with igb"
    else
        echo "qemu: no $QEMU with the igb device (run: $0 build)"
        ok=1
    fi
    return "$ok"
}

case "${1:-}" in
build) cmd_build ;;
run)
    shift
    cmd_run "$@"
    ;;
status) cmd_status || exit 1 ;;
*)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
