/*
 * fetch.c - one HTTPS GET with libcurl (see fetch.h). Runs in the JWKS
 * fetcher only. A fresh easy handle per fetch: nothing of a previous
 * answer (cookies, connections) is carried over.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "server/jwks/fetch.h"
#include "server/proto/jwks_msg.h"

int fetch_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct fetch_body *b = arg;
	size_t len = size * n;

	if (len > JWKS_MAX_DOCUMENT - b->len) {
		b->overflow = 1;
		return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return len;
}

static int outcome_of(CURLcode rc, const struct fetch_body *body)
{
	switch (rc) {
	case CURLE_OK:
		return JWKS_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return JWKS_TIMEOUT;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		return body->overflow || rc == CURLE_FILESIZE_EXCEEDED ? JWKS_TOO_LARGE : JWKS_UNREACHABLE;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
		return JWKS_TLS;
	default:
		return JWKS_UNREACHABLE;
	}
}

int fetch_get(const char *url, const char *ca_file, struct fetch_body *body, char *err, size_t errlen)
{
	char curl_err[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	CURL *h = curl_easy_init();
	long status = 0;
	int outcome;
	CURLcode rc;

	body->len = 0;
	body->overflow = 0;
	body->data[0] = '\0';
	if (!h) {
		snprintf(err, errlen, "%.200s: cannot start libcurl", url);
		return JWKS_UNREACHABLE;
	}
	headers = curl_slist_append(NULL, "Accept: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)JWKS_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)JWKS_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)JWKS_MAX_DOCUMENT);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "mcp-invoiced-jwks/" MCPI_VERSION);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	if (ca_file && *ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	outcome = outcome_of(rc, body);
	if (outcome == JWKS_TOO_LARGE)
		snprintf(err, errlen, "%.200s: the answer is over %d bytes", url, JWKS_MAX_DOCUMENT);
	else if (outcome != JWKS_OK)
		snprintf(err, errlen, "%.200s: %s", url, *curl_err ? curl_err : curl_easy_strerror(rc));
	else if (status >= 300 && status < 400) {
		outcome = JWKS_REDIRECT;
		snprintf(err, errlen, "%.200s: HTTP %ld: redirects are not followed", url, status);
	} else if (status != 200) {
		outcome = JWKS_HTTP_STATUS;
		snprintf(err, errlen, "%.200s: HTTP %ld", url, status);
	}
	body->data[body->len] = '\0';
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	return outcome;
}
