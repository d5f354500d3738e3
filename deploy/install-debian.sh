#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs (run by `gft stack up`; safe to run by hand).
#   deploy/install-debian.sh           install what is missing (apt-get update only then)
#   deploy/install-debian.sh --check   list what is missing; exit 1 if anything is
# Fast when everything is present: one dpkg-query, no apt. Waits for a dpkg/apt lock held by another
# apt-get instead of failing. Needs root (or password-less sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  clickhouse-server        # local ClickHouse (started by gft with its own config, not as a service)
  maven                    # fetches Kafka and Apicurio Registry from Maven Central
  openjdk-17-jre-headless  # Kafka broker JVM
  openjdk-17-jdk-headless  # Java's source launcher for deploy/security/ScramUsers.java (stack up --secure, gft users)
  openssl                  # the secured stack's CA and certificates (deploy/security/pki.ts)
  python3-astropy          # FITS/WCS reference checks in tests
  python3-numpy
  python3-scipy
  fitsverify
  source-extractor
  chromium                 # web page tests (playwright-core drives it)
  zookeeper                # a throw-away ClickHouse cluster in tests (connectors/clickhouse/testCluster.ts)
  python3-venv             # the VTP peer's venv (connectors/voevent/peer/setup-comet.sh, run by gft test)
)

missing=()
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null | awk '$NF == "installed" { print $1 }' || true)
for p in "${PACKAGES[@]}"; do
  grep -qx "$p" <<<"$installed" || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "missing: ${missing[*]}"
  exit 1
fi

SUDO=()
if [[ $EUID -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "install-debian: missing packages: ${missing[*]}" >&2
    echo "install-debian: run as root: sudo $0" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
LOCK_WAIT=(-o DPkg::Lock::Timeout=1800)

# apt-get update does not always honour DPkg::Lock::Timeout for the lists lock: retry on lock errors.
apt_retry() {
  local out rc tries=0
  while :; do
    set +e
    out=$("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${LOCK_WAIT[@]}" "$@" 2>&1)
    rc=$?
    set -e
    if [[ $rc -eq 0 ]]; then
      printf '%s\n' "$out" | tail -n 3
      return 0
    fi
    if grep -qiE 'could not get lock|unable to lock|is another process using it' <<<"$out" && [[ $tries -lt 360 ]]; then
      [[ $tries -eq 0 ]] && echo "install-debian: another apt/dpkg is running; waiting for its lock…"
      tries=$((tries + 1))
      sleep 5
      continue
    fi
    printf '%s\n' "$out" | tail -n 40 >&2
    return $rc
  done
}

echo "install-debian: installing ${missing[*]}"
apt_retry update -q
apt_retry install -y -q --no-install-recommends "${missing[@]}"
echo "install-debian: done"
