#!/usr/bin/env bash
# Fetch the JVM jars Spark needs (Delta, Spark NLP, the Kafka connector) and the Kafka broker's own jars
# from Maven Central into warehouse/jvm/lib/<group>.
# Runs at install time only; the pipeline reads the jars from disk (spark.jars) and never downloads.
# Idempotent: a group whose jars are present is not fetched again.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lib="${DEIDLAKE_JARS_DIR:-$here/lib}"
mkdir -p "$lib"

# Spark, Scala and Hadoop come with the pyspark wheel: not copied again (unless a group says otherwise).
SPARK_PROVIDED=org.apache.spark,org.scala-lang,org.apache.hadoop

fetch_group() {  # name, transitive(true|false), groups to leave out (default: what pyspark provides)
  local name="$1" transitive="$2" excluded="${3-$SPARK_PROVIDED}" out="$lib/$1"
  if compgen -G "$out/*.jar" >/dev/null; then
    echo "jars: $name already present"
    return 0
  fi
  # Maven resolves the groups' dependencies: install it (and Java 17) if missing, or say what is missing.
  "$here/check_jvm.sh" --need-maven >/dev/null || return 1
  rm -rf "$out.partial" && mkdir -p "$out.partial"
  if mvn -q -B -U -f "$here/$name/pom.xml" dependency:copy-dependencies \
       -DoutputDirectory="$out.partial" -DincludeScope=runtime \
       -DexcludeTransitive="$([ "$transitive" = true ] && echo false || echo true)" \
       ${excluded:+-DexcludeGroupIds="$excluded"} >"$lib/$name.log" 2>&1; then
    rm -rf "$out" && mv "$out.partial" "$out" && rm -f "$lib/$name.MISSING"
    echo "jars: $name fetched ($(ls "$out" | wc -l) files)"
  else
    rm -rf "$out.partial"
    # The first ERROR lines of Maven's log, else its last lines: never an empty file to point at.
    { grep -E "ERROR" "$lib/$name.log" | head -n 3; } > "$lib/$name.MISSING" || true
    [ -s "$lib/$name.MISSING" ] || tail -n 5 "$lib/$name.log" > "$lib/$name.MISSING"
    if grep -qiE "could not transfer|unknown ?host|connect(ion)? (refused|timed out)|network is unreachable" \
         "$lib/$name.MISSING"; then
      echo "jars: $name could NOT be fetched: Maven Central could not be reached ($(head -n 1 "$lib/$name.MISSING" | cut -c1-160)); full log: $lib/$name.log" >&2
    else
      echo "jars: $name could NOT be fetched: $(head -n 1 "$lib/$name.MISSING" | cut -c1-200); full log: $lib/$name.log" >&2
    fi
    return 1
  fi
}

fetch_group delta false        # Delta Lake: the warehouse's table format
fetch_group spark-nlp true     # Spark NLP and its runtime dependencies: the PHI recognizer's NER engine
# Kafka: the stream's source (four jars on spark.jars; org.apache.spark is the connector's own group) and a
# broker for tests and `deidlake kafka-dev` (its own classpath, Scala 2.13 included: nothing left out).
fetch_group spark-kafka false org.scala-lang,org.apache.hadoop
fetch_group kafka-broker true ""
