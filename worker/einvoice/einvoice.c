/*
 * einvoice.c - einvoice_write (see einvoice.h): checks the source for every
 * business term EN 16931 (and Peppol BIS 3.0) needs, then hands it to the
 * UBL or CII writer. Runs in workers.
 */
#include "worker/einvoice/cii.h"
#include "worker/einvoice/einvoice.h"
#include "worker/einvoice/model.h"
#include "worker/einvoice/ubl.h"

int einvoice_write(const struct json_object *source, enum einvoice_syntax syntax,
                   enum einvoice_profile profile, struct strbuf *xml, struct json_object **missing)
{
	int peppol = profile == EINVOICE_PEPPOL;
	json_object *lacks;

	*missing = NULL;
	if (peppol && syntax != EINVOICE_UBL)
		return -1;
	lacks = ei_missing(source, peppol);
	if (json_object_array_length(lacks) > 0) {
		*missing = lacks;
		return -1;
	}
	json_object_put(lacks);
	return syntax == EINVOICE_UBL ? ubl_write(source, peppol, xml) : cii_write(source, xml);
}
