# Shared by scripts/run and scripts/test: installs what is missing from
# Debian's packages (quietly, and only when something is missing) and builds
# one CMake preset.

FAULTLINE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Packages the build needs (scripts/run and scripts/test).
FAULTLINE_PACKAGES=(
  cmake g++ ninja-build pkg-config
  libboost-dev nlohmann-json3-dev libfmt-dev libcli11-dev libsqlite3-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev libmimalloc-dev
  libhiredis-dev libpq-dev
)
# Tools only the tests use (scripts/test): xmllint for JUnit, promtool for
# metrics and alert rules, headless Chromium for the HTML report, jsonschema
# for report.json and scenario files, PyYAML for the CI examples in docs/ci/;
# the servers the tests labelled `live` start private instances of
# (tests/CMakeLists.txt, fixture live_servers); iproute2's ip, for the
# live test that puts the servers and the workers on hosts of their own
# (network namespaces, tests/cli/several_hosts_test.cpp).
FAULTLINE_TEST_PACKAGES=(
  libxml2-utils prometheus chromium python3-jsonschema python3-yaml fonts-dejavu-core
  redis-server postgresql iproute2 python3-redis
)
# The second compiler CI builds with (.ci/run, the clang-release preset);
# it uses the same libstdc++ as g++.
FAULTLINE_CI_PACKAGES=(
  clang
)

faultline_log() { printf '[faultline] %s\n' "$*" >&2; }

faultline_install() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  faultline_log "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

faultline_build() {
  local preset="$1"
  shift
  cd "$FAULTLINE_ROOT"
  if [ ! -f "build/$preset/build.ninja" ]; then
    faultline_log "configuring preset $preset"
    cmake --preset "$preset" >/dev/null
  fi
  faultline_log "building preset $preset $*"
  cmake --build "build/$preset" "$@"
}

# The faultline program of a built preset (release unless named).
faultline_binary() {
  local program="$FAULTLINE_ROOT/build/${1:-release}/cli/faultline"
  if [ ! -x "$program" ]; then
    faultline_log "no faultline program in build/${1:-release}: build the preset first"
    return 1
  fi
  printf '%s\n' "$program"
}
