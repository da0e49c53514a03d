#!/usr/bin/env bash
# A real kube-apiserver (v1.20.2) with etcd on loopback, for the integration tests.
#
#   scripts/kube-apiserver.sh build       build (once) and cache bin/kube-apiserver and bin/kube-controller-manager
#                                         (each binary only if missing); installs what it needs with apt
#   scripts/kube-apiserver.sh start DIR   start etcd + kube-apiserver (+ kube-controller-manager's disruption
#                                         controller, when built) with data, certs, logs in DIR; prints DIR/kubeconfig
#   scripts/kube-apiserver.sh stop DIR    stop what `start DIR` started
#   scripts/kube-apiserver.sh status      say whether the cached binary (and etcd) are there; exit 1 if not
#
# Nothing is fetched from outside Debian: the source is Debian bookworm's own `kubernetes` source package, whose orig
# tarball is upstream v1.20.2 with its vendor/ tree. Go 1.19 needs three fixes to build it (see apply_fixes).
#
# Environment:
#   SRIOV_KUBE_CACHE               cache directory (default /var/cache/sriov-operator/kube); the binary is CACHE/bin
#   SRIOV_KUBE_KEEP_WORK=1         build: keep the unpacked tree and Go build cache (for debugging the build)
#   SRIOV_KUBE_APISERVER_ARGS      start: extra kube-apiserver flags, split on whitespace
#   SRIOV_KUBE_CONTROLLERS         start: kube-controller-manager --controllers (default "disruption": PDB status);
#                                  "none" starts no controller-manager
#   SRIOV_KUBE_SKIP_CONTROLLER_MANAGER=1  build: build only the API server (as before the controller-manager)
#   SRIOV_KUBE_OWNER_PID           start: stop everything (and remove DIR if SRIOV_KUBE_REMOVE_DIR=1) once that
#                                  process has exited, so a test process that dies or never calls stop leaks nothing
set -Eeuo pipefail
on_error() {
    local rc=$?
    printf '[kube-apiserver] error: "%s" failed (exit %s, line %s)\n' "${BASH_COMMAND%%$'\n'*}" "$rc" "${BASH_LINENO[0]}" >&2
}
trap on_error ERR

CACHE="${SRIOV_KUBE_CACHE:-/var/cache/sriov-operator/kube}"
BIN_DIR="$CACHE/bin"
APISERVER="$BIN_DIR/kube-apiserver"
CONTROLLER_MANAGER="$BIN_DIR/kube-controller-manager"
GOROOT_119=/usr/lib/go-1.19
BUILD_PACKAGES=(golang-1.19-go dpkg-dev python3 ca-certificates)
RUN_PACKAGES=(etcd-server openssl curl python3)
SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

log() { printf '[kube-apiserver %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
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

# Installs the given Debian packages that are not installed yet.
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
    apt_update_once
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Adds a `deb-src` twin of the machine's Debian sources (same URIs, suites, components and keyring), unless one is
# already configured, so that `apt-get source` finds Debian's kubernetes source package.
ensure_deb_src() {
    local d=/etc/apt/sources.list.d
    if grep -qsE '^[[:space:]]*Types:.*deb-src' "$d"/*.sources ||
        grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list "$d"/*.list; then
        return 0
    fi
    local f wrote=0
    for f in "$d"/*.sources; do
        [ -e "$f" ] || continue
        grep -qE '^[[:space:]]*URIs:.*debian' "$f" || continue
        sed -E 's/^([[:space:]]*Types:[[:space:]]*)deb[[:space:]]*$/\1deb-src/' "$f" >"$d/sriov-operator-deb-src.sources"
        wrote=1
        break
    done
    if [ "$wrote" = 0 ]; then
        local lists=()
        for f in /etc/apt/sources.list "$d"/*.list; do [ -e "$f" ] && lists+=("$f"); done
        if [ "${#lists[@]}" -gt 0 ]; then
            grep -hE '^[[:space:]]*deb[[:space:]].*debian' "${lists[@]}" |
                sed -E 's/^([[:space:]]*)deb[[:space:]]/\1deb-src /' >"$d/sriov-operator-deb-src.list" || true
            [ -s "$d/sriov-operator-deb-src.list" ] && wrote=1
        fi
    fi
    [ "$wrote" = 1 ] || die "found no Debian apt source to make a deb-src twin of"
    log "added a deb-src twin of the Debian apt sources in $d"
    APT_UPDATED=0
}

# ---------------------------------------------------------------------------------------------------------------------
# build

binary_works() { [ -x "$APISERVER" ] && "$APISERVER" --version >/dev/null 2>&1; }
controller_manager_works() { [ -x "$CONTROLLER_MANAGER" ] && "$CONTROLLER_MANAGER" --version >/dev/null 2>&1; }
want_controller_manager() { [ "${SRIOV_KUBE_SKIP_CONTROLLER_MANAGER:-0}" != 1 ]; }

cmd_build() {
    local t0=$SECONDS
    if binary_works && { controller_manager_works || ! want_controller_manager; }; then
        ensure_packages "${RUN_PACKAGES[@]}"
        log "cached: $("$APISERVER" --version) at $APISERVER (nothing to build)"
        if controller_manager_works; then log "cached: kube-controller-manager at $CONTROLLER_MANAGER"; fi
        return 0
    fi
    [ "$(id -u)" = 0 ] || die "build needs root (apt-get)"

    log "step 1/6: apt packages and Debian source"
    ensure_deb_src
    apt_update_once
    ensure_packages "${BUILD_PACKAGES[@]}" "${RUN_PACKAGES[@]}"
    local go="$GOROOT_119/bin/go"
    [ -x "$go" ] || die "$go missing after installing golang-1.19-go"

    local work="$CACHE/work"
    rm -rf "$work"
    mkdir -p "$work/download" "$BIN_DIR"
    # apt drops privileges to _apt for downloads when it can write the target directory as that user.
    chown _apt "$work/download" 2>/dev/null || true
    (cd "$work/download" && apt-get source --download-only -qq kubernetes >&2)
    local orig
    orig="$(find "$work/download" -maxdepth 1 -name 'kubernetes_*.orig.tar.gz' | head -n1)"
    [ -n "$orig" ] || die "apt-get source kubernetes gave no orig tarball"
    log "source: $(basename "$orig") ($(du -h "$orig" | cut -f1)) in $((SECONDS - t0)) s"

    # Debian's 1.20.5+really1.20.2 is upstream v1.20.2.
    local upstream version major minor
    upstream="$(basename "$orig" .orig.tar.gz)"
    upstream="${upstream#kubernetes_}"
    upstream="${upstream##*really}"
    version="v${upstream}"
    major="${upstream%%.*}"
    minor="${upstream#*.}"
    minor="${minor%%.*}"

    log "step 2/6: unpack the parts the API server build needs"
    local top tree="$work/kubernetes"
    # (head closes the pipe early, so tar's SIGPIPE status is ignored)
    top="$(tar tzf "$orig" | head -n1 | cut -d/ -f1)" || true
    [ -n "$top" ] || die "cannot list $orig"
    mkdir -p "$tree"
    tar xzf "$orig" -C "$tree" --strip-components=1 \
        "$top/go.mod" "$top/go.sum" "$top/cmd" "$top/pkg" "$top/plugin" "$top/staging" "$top/vendor" \
        "$top/third_party" "$top/hack/boilerplate" "$top/api/api-rules"
    rm -f "$orig"
    [ -d "$tree/cmd/kube-apiserver" ] || die "$(basename "$orig") has no cmd/kube-apiserver (a kubectl-only tarball?)"
    log "unpacked $(du -sh "$tree" | cut -f1) in $((SECONDS - t0)) s"

    log "step 3/6: fixes for Go 1.19 (vendor/modules.txt order, reflect2 mapiterinit)"
    fix_modules_txt "$tree/vendor/modules.txt"
    fix_reflect2 "$tree/vendor/github.com/modern-go/reflect2"

    export GOROOT="$GOROOT_119" PATH="$GOROOT_119/bin:$PATH" GOCACHE="$work/go-build" GOTOOLCHAIN=local
    export CGO_ENABLED=0 GOPROXY=off GOSUMDB=off GONOSUMDB= GOPRIVATE= GOFLAGS=-mod=vendor
    export GOMODCACHE="$work/gomodcache" GOPATH="$work/gopath"

    log "step 4/6: generate pkg/generated/openapi with the vendored openapi-gen"
    generate_openapi "$go" "$tree" "$work"
    log "openapi generated at $((SECONDS - t0)) s"

    local ldflags="" pkg
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
        ldflags+=" -X $pkg.gitTreeState=archive"
    done
    # Each binary only if missing, so a machine that cached the API server before adds the controller-manager.
    if binary_works; then
        log "step 5/6: kube-apiserver cached, not rebuilt"
    else
        log "step 5/6: go build ./cmd/kube-apiserver ($version, -tags providerless -trimpath)"
        (cd "$tree" && "$go" build -tags providerless -trimpath -ldflags "-s -w$ldflags" \
            -o "$BIN_DIR/kube-apiserver.tmp" ./cmd/kube-apiserver)
        mv "$BIN_DIR/kube-apiserver.tmp" "$APISERVER"
        log "built $("$APISERVER" --version), $(du -h "$APISERVER" | cut -f1), at $((SECONDS - t0)) s"
    fi
    if want_controller_manager && ! controller_manager_works; then
        log "step 5b/6: go build ./cmd/kube-controller-manager ($version, -tags providerless -trimpath)"
        (cd "$tree" && "$go" build -tags providerless -trimpath -ldflags "-s -w$ldflags" \
            -o "$BIN_DIR/kube-controller-manager.tmp" ./cmd/kube-controller-manager)
        mv "$BIN_DIR/kube-controller-manager.tmp" "$CONTROLLER_MANAGER"
        log "built kube-controller-manager, $(du -h "$CONTROLLER_MANAGER" | cut -f1), at $((SECONDS - t0)) s"
    fi

    log "step 6/6: clean up the source tree and Go caches"
    if [ "${SRIOV_KUBE_KEEP_WORK:-0}" = 1 ]; then
        log "SRIOV_KUBE_KEEP_WORK=1: keeping $work"
    else
        chmod -R u+w "$work" 2>/dev/null || true
        rm -rf "$work"
    fi
    binary_works || die "$APISERVER --version fails"
    log "done in $((SECONDS - t0)) s; cache $CACHE uses $(du -sh "$CACHE" | cut -f1)"
}

# Pitfall 1. vendor/modules.txt was written by Go 1.15: for a module with a version-less wildcard replacement
# (`# X => X vN`), the package lines follow that header instead of the versioned `# X vN => ...` header, so Go 1.19
# gives them version "" and fails with "updates to go.mod needed, disabled by -mod=vendor". Moving each wildcard header
# (with its `##` lines) above the versioned header of the same module makes the package lines belong to the latter.
fix_modules_txt() {
    /usr/bin/python3 - "$1" <<'PY'
import sys

modules_txt = sys.argv[1]
lines = open(modules_txt).read().splitlines()
blocks, current = [], None  # a block is [header, [lines]]; lines before any header form a headerless block
for line in lines:
    if line.startswith("# "):
        current = [line, []]
        blocks.append(current)
    else:
        if current is None:
            current = [None, []]
            blocks.append(current)
        current[1].append(line)


def module_of(header):
    f = header.split()
    return (f[1], len(f) > 2 and f[2] != "=>")  # (path, is versioned)


versioned_index = {}
out, moved, with_packages = [], 0, 0
for header, body in blocks:
    if header is None:
        out.append((header, body))
        continue
    path, versioned = module_of(header)
    if versioned:
        versioned_index[path] = len(out)
        out.append((header, body))
        continue
    i = versioned_index.get(path)
    if i is None:
        out.append((header, body))
        continue
    meta = [l for l in body if l.startswith("##")]
    pkgs = [l for l in body if not l.startswith("##")]
    vheader, vbody = out[i]
    # The wildcard header goes first; the versioned header then owns its own lines plus the moved package lines.
    out[i] = (header, meta + [vheader] + vbody + pkgs)
    moved += 1
    with_packages += 1 if any(l.strip() for l in pkgs) else 0

with open(modules_txt, "w") as f:
    for header, body in out:
        if header is not None:
            f.write(header + "\n")
        for l in body:
            f.write(l + "\n")
print(f"modules.txt: moved {moved} wildcard replacement headers, {with_packages} with package lines", file=sys.stderr)
if with_packages == 0:
    sys.exit("modules.txt: nothing to fix; is this the v1.20.2 tree?")
PY
}

# Pitfall 2. The vendored modern-go/reflect2 v1.0.1 segfaults on Go >= 1.18 as soon as json-iterator encodes a map:
# Go 1.18 made reflect.mapiterinit take the iterator as a third argument and changed the hiter layout. This is the change
# of reflect2 v1.0.2 (go_above_118.go, unsafe_link.go), applied to the vendored copy.
fix_reflect2() {
    /usr/bin/python3 - "$1" <<'PY'
import sys

d = sys.argv[1]


def replace(name, old, new):
    p = f"{d}/{name}"
    text = open(p).read()
    if text.count(old) != 1:
        sys.exit(f"reflect2 patch: expected text not found once in {name}")
    open(p, "w").write(text.replace(old, new))


replace(
    "unsafe_link.go",
    "func mapiterinit(rtype unsafe.Pointer, m unsafe.Pointer) *hiter\n",
    "func mapiterinit(rtype unsafe.Pointer, m unsafe.Pointer, it *hiter)\n",
)
replace(
    "unsafe_link.go",
    """type hiter struct {
	key   unsafe.Pointer // Must be in first position.  Write nil to indicate iteration end (see cmd/internal/gc/range.go).
	value unsafe.Pointer // Must be in second position (see cmd/internal/gc/range.go).
	// rest fields are ignored
}""",
    """type hiter struct {
	key         unsafe.Pointer
	value       unsafe.Pointer
	t           unsafe.Pointer
	h           unsafe.Pointer
	buckets     unsafe.Pointer
	bptr        unsafe.Pointer
	overflow    *[]unsafe.Pointer
	oldoverflow *[]unsafe.Pointer
	startBucket uintptr
	offset      uint8
	wrapped     bool
	B           uint8
	i           uint8
	bucket      uintptr
	checkBucket uintptr
}""",
)
replace(
    "unsafe_map.go",
    """	return &UnsafeMapIterator{
		hiter:      mapiterinit(type2.rtype, *(*unsafe.Pointer)(obj)),""",
    """	var it hiter
	mapiterinit(type2.rtype, *(*unsafe.Pointer)(obj), &it)
	return &UnsafeMapIterator{
		hiter:      &it,""",
)
print("reflect2: patched mapiterinit and hiter for Go >= 1.18", file=sys.stderr)
PY
}

# Pitfall 3. pkg/generated/openapi/zz_generated.openapi.go is not in the tarball (`undefined:
# openapi.GetOpenAPIDefinitions`). Generate it as upstream's Makefile.generated_files does: the vendored openapi-gen,
# run in GOPATH mode, over every package with a `+k8s:openapi-gen=` tag (staging/src/X named vendor/X) except
# code-generator and sample-apiserver.
generate_openapi() {
    local go="$1" tree="$2" work="$3"
    local gopath="$work/gopath"
    mkdir -p "$gopath/src/k8s.io" "$work/tools"
    ln -sfn "$tree" "$gopath/src/k8s.io/kubernetes"
    (cd "$tree" && "$go" build -o "$work/tools/openapi-gen" k8s.io/kube-openapi/cmd/openapi-gen)

    local dirs
    dirs="$(cd "$tree" &&
        grep -rlE --include='*.go' '^// *\+k8s:' cmd pkg plugin staging third_party |
        xargs grep -l '+k8s:openapi-gen=' |
        sed -e 's|^staging/src/|vendor/|' -e 's|/[^/]*$||' |
        grep -vE '^vendor/k8s\.io/(code-generator|sample-apiserver)/' |
        LC_ALL=C sort -u |
        sed 's|^|k8s.io/kubernetes/|' | paste -sd, -)"
    [ -n "$dirs" ] || die "found no +k8s:openapi-gen= packages"
    log "openapi-gen over $(tr ',' '\n' <<<"$dirs" | wc -l) packages"

    local report="$work/openapi-violations.report"
    (cd "$gopath/src/k8s.io/kubernetes" &&
        GO111MODULE=off GOFLAGS= GOPATH="$gopath" "$work/tools/openapi-gen" \
            --logtostderr -v 0 \
            -i "$dirs" \
            -p k8s.io/kubernetes/pkg/generated/openapi \
            -O zz_generated.openapi \
            -o "$gopath/src" \
            -h "$tree/hack/boilerplate/boilerplate.generatego.txt" \
            -r "$report" >&2)
    [ -s "$tree/pkg/generated/openapi/zz_generated.openapi.go" ] || die "openapi-gen wrote no zz_generated.openapi.go"
    if diff -q "$report" "$tree/api/api-rules/violation_exceptions.list" >/dev/null; then
        log "openapi-gen API-rule report equals api/api-rules/violation_exceptions.list"
    else
        log "warning: openapi-gen API-rule report differs from api/api-rules/violation_exceptions.list"
    fi
}

# ---------------------------------------------------------------------------------------------------------------------
# start / stop

free_ports() {
    /usr/bin/python3 - "$1" <<'PY'
import socket, sys

socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# Closes every inherited file descriptor above 2 in the current (sub)shell. The servers and the watchdog must not keep
# the caller's descriptors open: Foundation's Process on Linux, for one, waits until a socket it gives the child is
# closed by every process that inherited it, so a server holding it would make `start` look like it never ends.
close_inherited_fds() {
    local fd
    for fd in /proc/self/fd/*; do
        fd="${fd##*/}"
        if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
}

# Quotes a value for a POSIX shell (DIR/env is meant to be sourced).
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

gen_certs() {
    local dir="$1" p="$1/pki"
    mkdir -p "$p"
    (
        cd "$p"
        openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 3650 -keyout ca.key -out ca.crt \
            -subj "/CN=sriov-operator-test-ca" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl req -new -nodes -newkey rsa:2048 -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver" \
            2>/dev/null
        printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "extendedKeyUsage=serverAuth" \
            "keyUsage=critical,digitalSignature,keyEncipherment" "basicConstraints=CA:FALSE" >apiserver.ext
        openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
            -extfile apiserver.ext -out apiserver.crt 2>/dev/null
        openssl req -new -nodes -newkey rsa:2048 -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=admin" \
            2>/dev/null
        printf '%s\n' "extendedKeyUsage=clientAuth" "keyUsage=critical,digitalSignature,keyEncipherment" \
            "basicConstraints=CA:FALSE" >admin.ext
        openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
            -extfile admin.ext -out admin.crt 2>/dev/null
        openssl genrsa -out sa.key 2048 2>/dev/null
        openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
        rm -f ./*.csr ./*.ext
        chmod 600 ./*.key
    )
    local token
    token="$(openssl rand -hex 24)"
    printf '%s' "$token" >"$dir/token"
    printf '%s,admin,admin,"system:masters"\n' "$token" >"$p/tokens.csv"
    chmod 600 "$dir/token" "$p/tokens.csv"
}

write_kubeconfig() {
    local dir="$1" url="$2" p="$1/pki"
    cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: sriov-test
  cluster:
    server: $url
    certificate-authority-data: $(base64 -w0 "$p/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(base64 -w0 "$p/admin.crt")
    client-key-data: $(base64 -w0 "$p/admin.key")
contexts:
- name: sriov-test
  context:
    cluster: sriov-test
    user: admin
current-context: sriov-test
EOF
    chmod 600 "$dir/kubeconfig"
}

# True while PID runs the program named $2 (and is not a zombie).
pid_alive() {
    local pid="$1" name="$2" state
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
    state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null)" || return 1
    [ "$state" != Z ] && [ "$state" != X ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name"
}

# Stops the process in PIDFILE if it still runs NAME: SIGNAL (default TERM), then SIGKILL after 10 s.
stop_pid() {
    local pidfile="$1" name="$2" signal="${3:-TERM}" pid i
    [ -f "$pidfile" ] || return 0
    pid="$(cat "$pidfile")"
    if pid_alive "$pid" "$name"; then
        kill -"$signal" "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do
            pid_alive "$pid" "$name" || break
            sleep 0.1
        done
        if pid_alive "$pid" "$name"; then
            log "$name ($pid) did not stop on SIG$signal within 10 s; SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            for i in $(seq 1 50); do
                pid_alive "$pid" "$name" || break
                sleep 0.1
            done
        fi
    fi
    rm -f "$pidfile"
}

cmd_stop() {
    local dir="${1:?usage: $0 stop DIR}"
    [ -d "$dir" ] || return 0
    dir="$(cd "$dir" && pwd)"
    # The watchdog calls `stop` itself; only stop it when it is not the caller. SIGKILL, because it has nothing to
    # clean up and inherits its starter's signal mask: started from a Swift test process (Foundation's Process keeps
    # the mask), SIGTERM is blocked. The Go servers unblock the signals they handle, so SIGTERM reaches them.
    if [ "${SRIOV_KUBE_IN_WATCHDOG:-0}" != 1 ]; then stop_pid "$dir/watchdog.pid" "kube-apiserver.sh" KILL; fi
    stop_pid "$dir/kube-controller-manager.pid" "$CONTROLLER_MANAGER"
    stop_pid "$dir/kube-apiserver.pid" "$APISERVER"
    stop_pid "$dir/etcd.pid" etcd
}

cmd_watchdog() {
    local dir="$1" owner="$2" remove="$3"
    while kill -0 "$owner" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
    [ -d "$dir" ] || exit 0
    log "owner process $owner is gone: stopping the servers in $dir"
    SRIOV_KUBE_IN_WATCHDOG=1 cmd_stop "$dir"
    rm -f "$dir/watchdog.pid"
    if [ "$remove" = 1 ]; then rm -rf "$dir"; fi
}

cmd_start() {
    local dir="${1:?usage: $0 start DIR}"
    binary_works || die "no working $APISERVER: run '$0 build' first"
    local etcd_bin
    etcd_bin="$(command -v etcd || true)"
    [ -n "$etcd_bin" ] || die "etcd not found: run '$0 build' (installs etcd-server)"
    command -v openssl >/dev/null || die "openssl not found"
    command -v curl >/dev/null || die "curl not found"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    [ ! -f "$dir/kube-apiserver.pid" ] || ! pid_alive "$(cat "$dir/kube-apiserver.pid")" "$APISERVER" ||
        die "a kube-apiserver already runs for $dir"

    local t0=$SECONDS ports etcd_port peer_port api_port
    gen_certs "$dir"
    read -r etcd_port peer_port api_port <<<"$(free_ports 3)"
    local etcd_url="http://127.0.0.1:$etcd_port" peer_url="http://127.0.0.1:$peer_port"
    local url="https://127.0.0.1:$api_port" p="$dir/pki"
    mkdir -p "$dir/etcd" "$dir/apiserver-certs"

    # setsid, redirections and close_inherited_fds: the servers outlive this script and hold none of its descriptors.
    (close_inherited_fds && exec setsid "$etcd_bin" --name local --data-dir "$dir/etcd" \
        --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
        --listen-peer-urls "$peer_url" --initial-advertise-peer-urls "$peer_url" \
        --initial-cluster "local=$peer_url" --initial-cluster-state new --logger=zap) \
        </dev/null >"$dir/etcd.log" 2>&1 &
    echo $! >"$dir/etcd.pid"

    local i ok=0
    for i in $(seq 1 100); do
        if curl -fsS --max-time 1 "$etcd_url/health" >/dev/null 2>&1; then
            ok=1
            break
        fi
        pid_alive "$(cat "$dir/etcd.pid")" etcd || break
        sleep 0.1
    done
    if [ "$ok" != 1 ]; then
        tail -n 20 "$dir/etcd.log" >&2 || true
        cmd_stop "$dir"
        die "etcd did not become healthy (log: $dir/etcd.log)"
    fi

    local extra=()
    # shellcheck disable=SC2206 # split on whitespace on purpose
    [ -z "${SRIOV_KUBE_APISERVER_ARGS:-}" ] || extra=(${SRIOV_KUBE_APISERVER_ARGS})
    (close_inherited_fds && exec setsid "$APISERVER" \
        --etcd-servers="$etcd_url" \
        --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
        --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \
        --client-ca-file="$p/ca.crt" --token-auth-file="$p/tokens.csv" \
        --authorization-mode=RBAC \
        --allow-privileged=true \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
        --service-cluster-ip-range=10.0.0.0/24 --endpoint-reconciler-type=none \
        --cert-dir="$dir/apiserver-certs" --profiling=false --logtostderr=true --v=1 \
        "${extra[@]}") \
        </dev/null >"$dir/kube-apiserver.log" 2>&1 &
    echo $! >"$dir/kube-apiserver.pid"

    ok=0
    local token
    token="$(cat "$dir/token")"
    for i in $(seq 1 240); do
        if [ "$(curl -sS --max-time 2 --cacert "$p/ca.crt" -H "Authorization: Bearer $token" \
            "$url/readyz" 2>/dev/null)" = ok ]; then
            ok=1
            break
        fi
        pid_alive "$(cat "$dir/kube-apiserver.pid")" "$APISERVER" || break
        sleep 0.25
    done
    if [ "$ok" != 1 ]; then
        tail -n 30 "$dir/kube-apiserver.log" >&2 || true
        cmd_stop "$dir"
        die "kube-apiserver was not ready within 60 s (log: $dir/kube-apiserver.log)"
    fi

    write_kubeconfig "$dir" "$url"

    # The controllers a test needs from kube-controller-manager (default: the disruption controller, which writes
    # PodDisruptionBudget status), when the binary is built. No leader election, no serving port.
    local controllers="${SRIOV_KUBE_CONTROLLERS:-disruption}"
    if [ "$controllers" != none ] && controller_manager_works; then
        (close_inherited_fds && exec setsid "$CONTROLLER_MANAGER" \
            --kubeconfig="$dir/kubeconfig" --controllers="$controllers" --leader-elect=false \
            --port=0 --secure-port=0 --use-service-account-credentials=false \
            --service-account-private-key-file="$p/sa.key" --root-ca-file="$p/ca.crt" \
            --profiling=false --logtostderr=true --v=1) \
            </dev/null >"$dir/kube-controller-manager.log" 2>&1 &
        echo $! >"$dir/kube-controller-manager.pid"
    fi
    {
        echo "KUBE_URL=$(shq "$url")"
        echo "KUBECONFIG=$(shq "$dir/kubeconfig")"
        echo "KUBE_TOKEN_FILE=$(shq "$dir/token")"
        echo "KUBE_CA_FILE=$(shq "$p/ca.crt")"
        echo "ETCD_URL=$(shq "$etcd_url")"
        echo "KUBE_APISERVER_PID=$(cat "$dir/kube-apiserver.pid")"
        echo "ETCD_PID=$(cat "$dir/etcd.pid")"
        if [ -f "$dir/kube-controller-manager.pid" ]; then
            echo "KUBE_CONTROLLER_MANAGER_PID=$(cat "$dir/kube-controller-manager.pid")"
        fi
    } >"$dir/env"

    if [ -n "${SRIOV_KUBE_OWNER_PID:-}" ]; then
        (close_inherited_fds && exec setsid bash "$SCRIPT_PATH" _watchdog "$dir" "$SRIOV_KUBE_OWNER_PID" \
            "${SRIOV_KUBE_REMOVE_DIR:-0}") </dev/null >>"$dir/watchdog.log" 2>&1 &
        echo $! >"$dir/watchdog.pid"
    fi
    log "kube-apiserver $url ready in $((SECONDS - t0)) s (etcd $etcd_url; logs in $dir)"
    echo "$dir/kubeconfig"
}

cmd_status() {
    local ok=0
    if binary_works; then
        echo "kube-apiserver: $("$APISERVER" --version) at $APISERVER"
    else
        echo "kube-apiserver: not built (run: $0 build)"
        ok=1
    fi
    if controller_manager_works; then
        echo "kube-controller-manager: $CONTROLLER_MANAGER"
    else
        echo "kube-controller-manager: not built (run: $0 build; optional, for PodDisruptionBudget status)"
    fi
    if command -v etcd >/dev/null; then
        echo "etcd: $(command -v etcd)"
    else
        echo "etcd: not installed (run: $0 build)"
        ok=1
    fi
    return "$ok"
}

case "${1:-}" in
build) cmd_build ;;
start) cmd_start "${2:-}" ;;
stop) cmd_stop "${2:-}" ;;
status) cmd_status || exit 1 ;;
_watchdog) cmd_watchdog "$2" "$3" "$4" ;;
*)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
