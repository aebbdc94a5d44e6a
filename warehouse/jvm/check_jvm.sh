#!/usr/bin/env bash
# Make sure this machine has what Spark and the jar fetch need: a Java 17 runtime (`java`) and, when jars
# are still to be fetched, Maven (`mvn`). Installs the Debian packages when missing (as root or with sudo);
# where it cannot, says in one line what is missing and how to get it, and fails.
#   warehouse/jvm/check_jvm.sh [--need-maven]
set -uo pipefail
need_maven=false
[ "${1:-}" = "--need-maven" ] && need_maven=true
JAVA_PACKAGE=openjdk-17-jre-headless
MAVEN_PACKAGE=maven

java_major() {  # the major version of `java` on PATH (or $JAVA_HOME/bin/java), empty if none
  local java="java"
  [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] && java="$JAVA_HOME/bin/java"
  command -v "$java" >/dev/null 2>&1 || return 0
  "$java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n 1
}

missing_packages() {
  local packages=""
  local major; major="$(java_major)"
  if [ -z "$major" ] || [ "$major" -lt 17 ]; then packages="$JAVA_PACKAGE"; fi
  if $need_maven && ! command -v mvn >/dev/null 2>&1; then packages="$packages $MAVEN_PACKAGE"; fi
  set -- $packages
  echo "$*"
}

describe() {  # "a Java 17 runtime (...) and Maven (...)" from a package list
  local words=() found
  found="$(java_major)"
  for p in $1; do
    case "$p" in
      "$JAVA_PACKAGE") words+=("a Java 17 runtime (found: ${found:-none}; Debian package $JAVA_PACKAGE)") ;;
      "$MAVEN_PACKAGE") words+=("Maven to fetch the jars (Debian package $MAVEN_PACKAGE)") ;;
    esac
  done
  local text="${words[0]}"
  [ "${#words[@]}" -gt 1 ] && text="$text and ${words[1]}"
  echo "$text"
}

missing="$(missing_packages)"
if [ -z "$missing" ]; then
  echo "jvm: Java $(java_major) present$($need_maven && echo ", Maven present")"
  exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo -n"
if command -v apt-get >/dev/null 2>&1 && { [ -z "$sudo" ] || $sudo true 2>/dev/null; }; then
  echo "jvm: installing $missing"
  $sudo apt-get install -y -q $missing >/dev/null 2>&1 || \
    { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q $missing >/dev/null 2>&1; }
fi
still="$(missing_packages)"
if [ -n "$still" ]; then
  echo "jvm: missing $(describe "$still"); install with \`apt-get install $still\` (as root), then run make again" >&2
  exit 1
fi
echo "jvm: Java $(java_major) present$($need_maven && echo ", Maven present")"
