#!/usr/bin/env bash
# The system programs the course runs on, beside Python: PostgreSQL server binaries (week 1 on),
# Java 17+ (Kafka, Spark), Maven (resolves the course's JVM artifacts, shared/jvm/) and Python's venv module. As root on Debian/Ubuntu they are installed
# with apt-get; otherwise this prints the command to run. Fast when everything is there.
# Optional: Debian's chromium, for the registration app's browser test (skipped without it).
set -euo pipefail

missing=()
pg_found() {
  command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null
}
java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local v
  v=$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
  [ "${v%%.*}" -ge 17 ] 2>/dev/null
}
pg_found || missing+=(postgresql)
java_ok || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
optional=()
[ -x /usr/bin/chromium ] || optional+=(chromium)

[ ${#missing[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${missing[*]} ${optional[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || [ ${#missing[@]} -eq 0 ]
  # Java 17 is openjdk-17 on Debian 12 / Ubuntu 22.04+; newer releases only ship later JDKs.
  if [ ${#missing[@]} -gt 0 ] && ! apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
    apt-get install -y -qq --no-install-recommends "${missing[@]/openjdk-17-jdk-headless/default-jdk-headless}"
  fi
  if [ ${#optional[@]} -gt 0 ] && ! apt-get install -y -qq --no-install-recommends "${optional[@]}"; then
    echo "system-deps: could not install ${optional[*]} (optional: the registration browser test is skipped)" >&2
  fi
elif [ ${#missing[@]} -eq 0 ]; then
  echo "system-deps: optional ${optional[*]} is missing (the registration browser test is skipped without it):" >&2
  echo "    sudo apt-get install ${optional[*]}" >&2
else
  echo "system-deps: missing ${missing[*]}. Install them with:" >&2
  echo "    sudo apt-get install ${missing[*]}" >&2
  echo "(then run make again; 'zoomcamp doctor' checks the machine)" >&2
  exit 1
fi
