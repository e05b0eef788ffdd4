/*
 * codes.h - code lists and check digits of e-invoice arguments: each check
 * returns NULL when the text is valid, else the rule it broke ("a BIC ...")
 * for the argument's error message. Pure functions; run in workers.
 */
#ifndef MCPI_CODES_H
#define MCPI_CODES_H

const char *codes_check_country(const char *s); /* ISO 3166-1 alpha-2 */
const char *codes_check_eas(const char *s);     /* Peppol EAS scheme */
const char *codes_check_vatex(const char *s);   /* VATEX exemption reason code */
const char *codes_check_unit(const char *s);    /* UN/ECE Rec 20/21 unit */
const char *codes_check_iban(const char *s);    /* ISO 13616, mod 97 */
const char *codes_check_bic(const char *s);     /* ISO 9362 */

/* The prefix a VAT number of country carries (EL for Greece). */
const char *codes_vat_prefix(const char *country);

#endif
