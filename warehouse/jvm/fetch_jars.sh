#!/usr/bin/env bash
# Fetch the JVM jars Spark needs (Delta, Spark NLP) from Maven Central into warehouse/jvm/lib.
# Runs at install time only; the pipeline reads the jars from disk (spark.jars) and never downloads.
# Idempotent: a group whose jars are present is not fetched again.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lib="${DEIDLAKE_JARS_DIR:-$here/lib}"
mkdir -p "$lib"

fetch_group() {  # name, transitive(true|false)
  local name="$1" transitive="$2" out="$lib/$1"
  if compgen -G "$out/*.jar" >/dev/null; then
    echo "jars: $name already present"
    return 0
  fi
  rm -rf "$out.partial" && mkdir -p "$out.partial"
  if mvn -q -B -U -f "$here/$name/pom.xml" dependency:copy-dependencies \
       -DoutputDirectory="$out.partial" -DincludeScope=runtime \
       -DexcludeTransitive="$([ "$transitive" = true ] && echo false || echo true)" \
       -DexcludeGroupIds=org.apache.spark,org.scala-lang,org.apache.hadoop >"$lib/$name.log" 2>&1; then
    rm -rf "$out" && mv "$out.partial" "$out" && rm -f "$lib/$name.MISSING"
    echo "jars: $name fetched ($(ls "$out" | wc -l) files)"
  else
    rm -rf "$out.partial"
    grep -E "ERROR" "$lib/$name.log" | head -n 3 > "$lib/$name.MISSING" || true
    echo "jars: $name could NOT be fetched from Maven Central; see $lib/$name.MISSING" >&2
    return 1
  fi
}

fetch_group delta false        # Delta Lake: the warehouse's table format
fetch_group spark-nlp true     # Spark NLP and its runtime dependencies: the PHI recognizer's NER engine
