/*
 * model.h - reading the mcp_einvoice_source JSON (docs/einvoice.md) the way
 * both syntaxes need it: typed members, amounts in the currency's decimals,
 * the rules of each VAT category, and the list of business terms a document
 * lacks. Pure functions; run in workers.
 */
#ifndef MCPI_EINVOICE_MODEL_H
#define MCPI_EINVOICE_MODEL_H

#include <json-c/json.h>

/* The member's string when it is a non-empty string, else NULL. */
const char *ei_str(const json_object *o, const char *key);
/* The member when it is an object (ei_obj) or an array (ei_arr), else NULL. */
json_object *ei_obj(const json_object *o, const char *key);
json_object *ei_arr(const json_object *o, const char *key);
/* The document currency's exponent, 0-4 (ISO 4217 has no other). */
int ei_exponent(const json_object *source);
/* BT-126: the line's position + 1. */
void ei_line_id(const json_object *line, char *out, size_t cap);
/* The member's integer, 0 when absent. */
long long ei_int(const json_object *o, const char *key);

/* minor units as a decimal amount: (3600, 2) -> "36.00", (1500, 0) -> "1500";
 * exponents over 2 (KWD 3, CLF 4) print 2 decimals, as EN 16931 (BR-DEC)
 * allows no more: ei_missing has checked that this loses nothing. */
void ei_money(long long minor, int exponent, char *out, size_t cap);
/* basis points as a percentage: 1900 -> "19.00", 550 -> "5.50". */
void ei_percent(long long bps, char *out, size_t cap);
/* A quantity member (number or decimal string) as text. */
void ei_quantity(const json_object *line, char *out, size_t cap);
/* "2026-12-08" -> "20261208" (CII format 102). */
void ei_date102(const char *iso, char out[9]);

/* VAT category rules (UNCL5305 codes as EN 16931 uses them). */
int ei_category_exempt(const char *category);   /* E AE K G O: reason, no VAT */
int ei_category_has_rate(const char *category); /* every one but O */
/* "S", "AE", ... used anywhere in the document's tax breakdown or lines. */
int ei_uses_category(const json_object *source, const char *category);

/* Every business term the document needs and the source lacks, as a new
 * array of {term, name, argument} (empty when none); peppol adds the Peppol
 * BIS 3.0 requirements. Caller frees. */
json_object *ei_missing(const json_object *source, int peppol);

#endif
