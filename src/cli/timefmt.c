/*
 * timefmt.c - times as --time-format asks: lsipc's short, full and iso, and seconds since the
 * Epoch. Every format but short names the zone, so that a time read from the output means one
 * instant wherever it is read; iso is what Python's datetime.fromisoformat and date -d parse.
 */
#include "cli.h"

#include <string.h>
#include <time.h>

static const char *const names[] = {
    [CLI_TIME_SHORT] = "short",
    [CLI_TIME_FULL] = "full",
    [CLI_TIME_ISO] = "iso",
    [CLI_TIME_EPOCH] = "epoch",
};

bool cli_timefmt_parse(const char *cmd, const char *text, enum cli_timefmt *f)
{
	for (int i = CLI_TIME_SHORT; i <= CLI_TIME_EPOCH; i++)
		if (!strcmp(text, names[i])) {
			*f = (enum cli_timefmt)i;
			return true;
		}
	cli_usage(cmd, "unknown time format '%s': formats are short, full, iso and epoch", text);
	return false;
}

enum cli_timefmt cli_timefmt_for(enum cli_timefmt f, unsigned how)
{
	if (how & CLI_TB_JSON)
		return f == CLI_TIME_EPOCH ? f : CLI_TIME_ISO;
	if (f != CLI_TIME_DEFAULT)
		return f;
	return how & CLI_TB_RAW ? CLI_TIME_ISO : CLI_TIME_FULL;
}

/* lsipc's short form: the time of day today, the day this year, else the year and day. */
static void fmt_short(char *buf, size_t len, const struct tm *tm)
{
	static time_t now;
	struct tm today;

	if (!now)
		now = time(NULL);
	localtime_r(&now, &today);
	if (tm->tm_year == today.tm_year && tm->tm_yday == today.tm_yday)
		strftime(buf, len, "%H:%M", tm);
	else if (tm->tm_year == today.tm_year)
		strftime(buf, len, "%b%d", tm);
	else
		strftime(buf, len, "%Y-%b%d", tm);
}

/* ISO 8601 with the offset as "+01:00", which every Python 3 parses ("+0100" only 3.11 on). */
static void fmt_iso(char *buf, size_t len, const struct tm *tm)
{
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", tm);
	if (n >= 5 && n + 1 < len) {
		memmove(buf + n - 1, buf + n - 2, 3);
		buf[n - 2] = ':';
	}
}

const char *cli_fmt_time_as(char *buf, size_t len, const struct pshm_time *ts, enum cli_timefmt f)
{
	time_t t = (time_t)ts->sec;
	struct tm tm;

	if (len)
		buf[0] = '\0';
	if (t == 0)
		return "-";
	if (f == CLI_TIME_EPOCH) {
		snprintf(buf, len, "%lld", (long long)ts->sec);
		return buf;
	}
	if (!localtime_r(&t, &tm))
		return "-";
	if (f == CLI_TIME_SHORT)
		fmt_short(buf, len, &tm);
	else if (f == CLI_TIME_ISO)
		fmt_iso(buf, len, &tm);
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S %z", &tm);
	return buf;
}
