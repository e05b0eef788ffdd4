/*
 * currency.c - the ISO 4217 table (active codes with a minor unit; precious
 * metals and testing codes excluded). Pure data; runs in workers and in the
 * renderer (amounts printed with their exponent).
 */
#include <stdio.h>
#include <string.h>

#include "server/lib/currency.h"

/* Each entry: three letters and the exponent digit, sorted for bsearch. */
static const char currencies[] =
	"AED2AFN2ALL2AMD2ANG2AOA2ARS2AUD2AWG2AZN2BAM2BBD2BDT2BGN2BHD3BIF0BMD2BND2"
	"BOB2BOV2BRL2BSD2BTN2BWP2BYN2BZD2CAD2CDF2CHE2CHF2CHW2CLF4CLP0CNY2COP2COU2"
	"CRC2CUP2CVE2CZK2DJF0DKK2DOP2DZD2EGP2ERN2ETB2EUR2FJD2FKP2GBP2GEL2GHS2GIP2"
	"GMD2GNF0GTQ2GYD2HKD2HNL2HTG2HUF2IDR2ILS2INR2IQD3IRR2ISK0JMD2JOD3JPY0KES2"
	"KGS2KHR2KMF0KPW2KRW0KWD3KYD2KZT2LAK2LBP2LKR2LRD2LSL2LYD3MAD2MDL2MGA2MKD2"
	"MMK2MNT2MOP2MRU2MUR2MVR2MWK2MXN2MXV2MYR2MZN2NAD2NGN2NIO2NOK2NPR2NZD2OMR3"
	"PAB2PEN2PGK2PHP2PKR2PLN2PYG0QAR2RON2RSD2RUB2RWF0SAR2SBD2SCR2SDG2SEK2SGD2"
	"SHP2SLE2SOS2SRD2SSP2STN2SVC2SYP2SZL2THB2TJS2TMT2TND3TOP2TRY2TTD2TWD2TZS2"
	"UAH2UGX0USD2USN2UYI0UYU2UYW4UZS2VED2VES2VND0VUV0WST2XAF0XCD2XOF0XPF0YER2"
	"ZAR2ZMW2ZWG2";

int currency_exponent(const char *code)
{
	size_t lo = 0, hi = (sizeof(currencies) - 1) / 4;

	if (strlen(code) != 3)
		return -1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(code, currencies + mid * 4, 3);
		if (c == 0)
			return currencies[mid * 4 + 3] - '0';
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

const char *currency_code_at(size_t i, char out[4])
{
	if (i >= (sizeof(currencies) - 1) / 4)
		return NULL;
	memcpy(out, currencies + i * 4, 3);
	out[3] = '\0';
	return out;
}

void currency_format(long long minor, int exponent, char *buf, size_t cap)
{
	unsigned long long v = minor < 0 ? 0ULL - (unsigned long long)minor : (unsigned long long)minor;
	char digits[32], out[64];
	int n, o = 0, whole;

	n = snprintf(digits, sizeof(digits), "%0*llu", exponent + 1, v);
	whole = n - exponent;
	if (minor < 0)
		out[o++] = '-';
	for (int i = 0; i < whole; i++) {
		if (i > 0 && (whole - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	if (exponent > 0) {
		out[o++] = '.';
		memcpy(out + o, digits + whole, (size_t)exponent);
		o += exponent;
	}
	out[o] = '\0';
	snprintf(buf, cap, "%s", out);
}
