# Sourced by run.sh and test.sh: start Azurite unless one already answers, and stop it on exit only if we started it.
started_azurite=no
if ! "$(dirname "${BASH_SOURCE[0]}")/azurite.sh" status >/dev/null 2>&1; then
  "$(dirname "${BASH_SOURCE[0]}")/azurite.sh" start
  started_azurite=yes
fi
rolegen_stop_azurite() { if [ "$started_azurite" = yes ]; then "$(dirname "${BASH_SOURCE[0]}")/azurite.sh" stop; fi; }
trap rolegen_stop_azurite EXIT
