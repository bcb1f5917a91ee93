#!/usr/bin/env bash
# Release vX.Y.Z from the current commit: the release workflow runs this, and so can a maintainer.
#   bash scripts/release.sh X.Y.Z [remote]
# 1. X.Y.Z must be a plain semver version equal to package.json's `version`.
# 2. The tag vX.Y.Z must not exist yet, locally or on the remote (a release is never rewritten).
# 3. dist/ must be what the sources build: `npm run package` (RELEASE_BUILD overrides the command)
#    must leave the tree unchanged.
# 4. Tag vX.Y.Z (annotated) at HEAD, move the major tag vX to it, push both to the remote
#    (default origin): vX.Y.Z as a new tag, vX with --force (it moves on every release).
set -euo pipefail
version="${1:-}"
remote="${2:-origin}"
fail() { printf 'release: %s\n' "$1" >&2; exit 1; }

[[ "$version" =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] ||
  fail "the version '$version' is not X.Y.Z (digits only, no leading v)."
major="v${BASH_REMATCH[1]}"
tag="v$version"

declared="$(node -p 'require("./package.json").version')"
[ "$declared" = "$version" ] || fail "package.json says version $declared, not $version: bump it in a commit first."

[ -z "$(git status --porcelain --untracked-files=no)" ] || fail "the working tree has uncommitted changes."

git rev-parse -q --verify "refs/tags/$tag" >/dev/null && fail "the tag $tag already exists."
if git ls-remote --exit-code --tags "$remote" "refs/tags/$tag" >/dev/null; then
  fail "the tag $tag already exists on $remote."
fi

${RELEASE_BUILD:-npm run package} >&2
if [ -n "$(git status --porcelain -- dist)" ]; then
  git status --short -- dist >&2
  fail "dist/ is not what the sources build: run npm run package and commit dist/ first."
fi

git tag -a "$tag" -m "$tag"
git tag -f -a "$major" -m "$major (now $tag)" "$tag^{commit}" >/dev/null
git push "$remote" "refs/tags/$tag"
git push --force "$remote" "refs/tags/$major"
printf 'release: %s and %s point at %s\n' "$tag" "$major" "$(git rev-parse --short "$tag^{commit}")"
