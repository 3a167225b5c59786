#!/bin/sh
# The message catalogs (docs/architecture.md, "Adding a message"): extract every _(), N_() and
# ngettext() message from src/fulian_eval, merge them into the Chinese catalog, compile the .mo.
#   tools/messages.sh            extract + update the .po (then translate the new msgstr "" entries)
#   tools/messages.sh compile    compile the .po into the shipped .mo
# Needs Babel (pip install -e '.[i18n]'); PYBABEL names another pybabel.
set -eu
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-pybabel}
LOCALE=src/fulian_eval/locale
if [ "${1:-}" = compile ]; then
    exec "$PYBABEL" compile --statistics -D fulian_eval -d "$LOCALE" -l zh_CN
fi
POT=$(mktemp)
trap 'rm -f "$POT"' EXIT
"$PYBABEL" extract --no-location --sort-output --project fulian_eval -o "$POT" src/fulian_eval
if [ -f "$LOCALE/zh_CN/LC_MESSAGES/fulian_eval.po" ]; then
    "$PYBABEL" update --no-fuzzy-matching --ignore-obsolete -D fulian_eval -d "$LOCALE" -l zh_CN -i "$POT"
else
    "$PYBABEL" init -D fulian_eval -d "$LOCALE" -l zh_CN -i "$POT"
fi
