/* libFuzzer driver: the e-invoice writer (worker/einvoice). The first byte
 * picks a mode: even - the rest is any text (any bytes) put into one of a
 * complete source's text fields (names, address lines, notes, item names,
 * references); odd - the rest is a whole source as JSON, of any shape.
 * Whatever it is, einvoice_write either refuses with a list of missing
 * terms or writes a document that libxml2 parses as well-formed XML. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "worker/einvoice/einvoice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base[] =
	"{\"kind\":\"invoice\",\"status\":\"sent\",\"id\":\"i\",\"number\":\"INV-1\",\"issue_date\":\"2026-12-08\","
	"\"due_date\":\"2027-01-07\",\"currency\":\"EUR\",\"exponent\":2,\"note\":\"n\",\"buyer_reference\":\"r\","
	"\"purchase_order\":\"p\",\"delivery_date\":\"2026-12-01\",\"payment_terms\":\"t\","
	"\"preceding_invoice\":null,\"seller\":{\"legal_name\":\"S\",\"address\":{\"lines\":[\"a\",\"b\",\"c\"],"
	"\"city\":\"Berlin\",\"postal_code\":\"1\",\"country_code\":\"DE\",\"region\":\"r\"},\"vat_id\":\"DE1\","
	"\"legal_id\":\"L\",\"electronic_address\":{\"scheme\":\"0088\",\"id\":\"1\"},\"iban\":\"DE89\","
	"\"bic\":\"B\",\"contact_name\":\"C\",\"email\":\"e\",\"phone\":\"p\",\"payment_instructions\":null},"
	"\"buyer\":{\"customer_id\":\"b\",\"name\":\"B\",\"address\":{\"lines\":[\"x\"],\"city\":\"Y\","
	"\"postal_code\":\"2\",\"country_code\":\"FR\",\"region\":null},\"vat_id\":\"FR1\",\"legal_id\":null,"
	"\"electronic_address\":{\"scheme\":\"0088\",\"id\":\"2\"},\"email\":\"f\"},"
	"\"lines\":[{\"position\":0,\"description\":\"d\",\"quantity\":3,\"unit_code\":\"C62\",\"price\":\"12.5\","
	"\"allowance_minor\":150,\"net_minor\":3600,\"category\":\"K\",\"rate_bps\":0}],"
	"\"tax\":[{\"category\":\"K\",\"rate_bps\":0,\"taxable_minor\":3600,\"tax_minor\":0,"
	"\"exemption_reason\":\"e\",\"exemption_reason_code\":\"VATEX-EU-IC\"}],"
	"\"totals\":{\"line_net_minor\":3600,\"tax_exclusive_minor\":3600,\"tax_minor\":0,"
	"\"tax_inclusive_minor\":3600,\"rounding_minor\":0,\"paid_minor\":0,\"payable_minor\":3600}}";

/* Where mode "text" puts its bytes: an object path and the member. */
static json_object *text_target(json_object *src, unsigned pick, const char **key)
{
	static const char *const top[] = { "note", "buyer_reference", "purchase_order", "payment_terms", "number" };
	static const char *const party[] = { "legal_name", "name", "vat_id", "legal_id", "contact_name", "email",
	                                     "iban", "bic" };
	json_object *o = NULL;

	switch (pick % 4) {
	case 0:
		*key = top[pick / 4 % 5];
		return src;
	case 1:
		json_object_object_get_ex(src, pick & 4 ? "seller" : "buyer", &o);
		*key = party[pick / 8 % 8];
		return o;
	case 2:
		json_object_object_get_ex(src, "lines", &o);
		*key = "description";
		return json_object_array_get_idx(o, 0);
	default:
		json_object_object_get_ex(src, "seller", &o);
		json_object_object_get_ex(o, "address", &o);
		*key = pick & 4 ? "city" : "region";
		return o;
	}
}

static void check(json_object *src)
{
	static const enum einvoice_syntax syntax[] = { EINVOICE_UBL, EINVOICE_UBL, EINVOICE_CII };
	static const enum einvoice_profile profile[] = { EINVOICE_EN16931, EINVOICE_PEPPOL, EINVOICE_EN16931 };

	for (int k = 0; k < 3; k++) {
		struct strbuf xml;
		json_object *missing = NULL;
		strbuf_init(&xml, 4096);
		if (einvoice_write(src, syntax[k], profile[k], &xml, &missing) == 0) {
			xmlDocPtr doc = xmlReadMemory(xml.data, (int)xml.len, NULL, "UTF-8", XML_PARSE_NONET);
			if (!doc || missing)
				__builtin_trap();
			xmlFreeDoc(doc);
		} else if (!missing || json_object_array_length(missing) == 0 || xml.len != 0) {
			__builtin_trap();
		}
		json_object_put(missing);
		strbuf_free(&xml);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *src, *target;
	const char *key;

	if (size < 2)
		return 0;
	if (data[0] & 1) {
		json_tokener *tok = json_tokener_new();
		src = json_tokener_parse_ex(tok, (const char *)data + 1, (int)size - 1);
		json_tokener_free(tok);
	} else {
		src = json_tokener_parse(base);
		target = text_target(src, data[1], &key);
		if (target)
			json_object_object_add(target, key, json_object_new_string_len((const char *)data + 2, (int)size - 2));
	}
	if (src && json_object_is_type(src, json_type_object))
		check(src);
	json_object_put(src);
	return 0;
}
