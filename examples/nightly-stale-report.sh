#!/bin/sh
# Nightly: which customers went quiet since yesterday's run? Writes them to a dated CSV and mails
# it (or prints where it is, which cron mails to you), so each morning's mail says what changed.
#
# crontab -e (07:30 on weekdays; cron's environment is nearly empty, so say where things are):
#   30 7 * * 1-5  CRMCLI_DB=$HOME/crm/crmcli.db PATH=$HOME/.local/bin:/usr/bin:/bin /path/to/nightly-stale-report.sh
#
# Settings (environment):
#   CRMCLI_DB    the database (required)
#   CRMCLI       the crmcli program (default: crmcli on PATH)
#   STALE_DAYS   silent for more than this many days (default 90)
#   REPORT_DIR   where the dated CSVs go (default: reports/ beside the database)
#   MAIL_TO      mail the CSV here with mail(1) when it is installed; else print its path
#
# Exit status: 0 nothing new or report written; otherwise crmcli's (75: database busy, try later;
# 78: no database or too new a schema; see `crmcli --help`).
set -eu

: "${CRMCLI_DB:?set CRMCLI_DB to the crmcli database file}"
export CRMCLI_DB
CRMCLI=${CRMCLI:-crmcli}
STALE_DAYS=${STALE_DAYS:-90}
REPORT_DIR=${REPORT_DIR:-$(dirname -- "$CRMCLI_DB")/reports}
MAIL_TO=${MAIL_TO:-}

mkdir -p -- "$REPORT_DIR"
today=$(date +%Y-%m-%d)
out="$REPORT_DIR/stale-$today.csv"
tmp="$REPORT_DIR/.stale-$today.csv.$$"
trap 'rm -f -- "$tmp"' EXIT

status=0
"$CRMCLI" stale --days "$STALE_DAYS" --new-only --report nightly --format csv --fail-if-any \
    >"$tmp" || status=$?

case $status in
0)
    # Nobody new: stay silent, so cron sends no mail.
    exit 0
    ;;
4)
    mv -f -- "$tmp" "$out"
    count=$(($(wc -l <"$out") - 1))
    subject="crmcli: $count customer(s) silent for more than $STALE_DAYS days ($today)"
    if [ -n "$MAIL_TO" ] && command -v mail >/dev/null 2>&1; then
        mail -s "$subject" "$MAIL_TO" <"$out"
    else
        echo "$subject: $out"
    fi
    exit 0
    ;;
*)
    echo "nightly-stale-report: crmcli stale failed (exit $status)" >&2
    exit "$status"
    ;;
esac
