#!/usr/bin/env bash
# Regenerates Sources/DevicePluginAPI/Generated from the kubelet .proto files in Sources/DevicePluginAPI/Protos.
#
# The generated Swift is committed: the package build never runs protoc (SwiftPM build plugins would compile
# protoc from C++, about 10 minutes on these machines). Run this only after editing a .proto file:
#   bash scripts/generate-protos.sh
# It installs protobuf-compiler (apt), builds protoc-gen-swift (swift-protobuf 1.39.0) and
# protoc-gen-grpc-swift-2 (grpc-swift-protobuf 2.4.1) once in a throwaway package under /tmp, and regenerates.
# When SwiftPM's repository cache (~/.swiftpm/cache/repositories) holds those repositories, they are used as
# mirrors, so no network is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=${SRIOV_PROTOC_WORK:-/tmp/sriov-protoc-plugins}
protos=Sources/DevicePluginAPI/Protos
out=Sources/DevicePluginAPI/Generated

if ! command -v protoc >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler
fi

mkdir -p "$work/Sources/Placeholder"
cat >"$work/Package.swift" <<'SWIFT'
// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "protoc-plugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
    ],
    targets: [.target(name: "Placeholder", path: "Sources/Placeholder")]
)
SWIFT
echo "public let placeholder = 0" >"$work/Sources/Placeholder/Placeholder.swift"

cache=${SWIFTPM_REPOSITORY_CACHE:-$HOME/.swiftpm/cache/repositories}
mirror() { # original-url cache-name-prefix
    local dir
    dir=$(find "$cache" -maxdepth 1 -type d -name "$2-*" 2>/dev/null | head -n 1)
    [ -n "$dir" ] || return 0
    (cd "$work" && swift package config set-mirror --original "$1" --mirror "file://$dir" &&
        swift package config set-mirror --original "${1%.git}" --mirror "file://$dir")
}
mirror https://github.com/apple/swift-protobuf.git swift-protobuf
mirror https://github.com/grpc/grpc-swift-protobuf.git grpc-swift-protobuf
mirror https://github.com/grpc/grpc-swift-2.git grpc-swift-2
mirror https://github.com/apple/swift-collections.git swift-collections

(cd "$work" && swift build -c release --product protoc-gen-swift &&
    swift build -c release --product protoc-gen-grpc-swift-2)
bin=$(cd "$work" && swift build -c release --show-bin-path)

rm -rf "$out"
mkdir -p "$out"
protoc \
    --proto_path="$protos" \
    --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
    --swift_out="$out" \
    --swift_opt=Visibility=Public \
    --swift_opt=UseAccessLevelOnImports=true \
    --swift_opt=FileNaming=PathToUnderscores \
    --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
    --grpc-swift-2_out="$out" \
    --grpc-swift-2_opt=Visibility=Public,Server=true,Client=true,FileNaming=PathToUnderscores,UseAccessLevelOnImports=true \
    $(cd "$protos" && find . -name '*.proto' | sed 's|^\./||' | sort)
echo "generated into $repo/$out:"
ls "$out"
