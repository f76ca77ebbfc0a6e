# Sourced by the judge scripts: puts cfn-guard on PATH. The prebuilt binary shipped in the
# npm package @cdklabs/cdk-validator-cfnguard (pinned in package-lock.json, installed by
# `npm ci`) comes first; a cfn-guard built into .ci/.tools/cargo/bin or already on PATH
# serves where that package has no binary for this machine.
case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) _guard_bin=ubuntu/x86_64 ;;
  Linux/aarch64) _guard_bin=ubuntu/aarch64 ;;
  Darwin/x86_64) _guard_bin=macos/x86_64 ;;
  Darwin/arm64) _guard_bin=macos/aarch64 ;;
  *) _guard_bin=none ;;
esac
[[ -d $repo/.ci/.tools/cargo/bin ]] && PATH="$repo/.ci/.tools/cargo/bin:$PATH"
_guard_dir=$repo/node_modules/@cdklabs/cdk-validator-cfnguard/bin/$_guard_bin
[[ -x $_guard_dir/cfn-guard ]] && PATH="$_guard_dir:$PATH"
unset _guard_bin _guard_dir
