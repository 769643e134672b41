// The invoice document layout: rendering, parsing and amount validation,
// including the corrupted inputs the fault layer will send.
#include <gtest/gtest.h>

#include "reference_system/invoice.h"

namespace faultline::reference_system {
namespace {

Invoice sample() {
  Invoice inv;
  inv.id = 1042;
  inv.vendor = "V0017 Northwind Freight";
  inv.po_reference = "PO-001042";
  inv.currency = "EUR";
  inv.lines = {{"Freight", 2, 125000}, {"Handling", 1, 8050}};
  inv.total_cents = 258050;
  inv.document = render_document(inv);
  return inv;
}

TEST(Invoice, RenderedDocumentParsesBackToTheSameFields) {
  const Invoice inv = sample();
  EXPECT_EQ(inv.document.substr(0, 10), "INVOICE/1\n");
  const ExtractedInvoice ex = parse_document(inv.document);
  EXPECT_EQ(ex.problems, 0u);
  EXPECT_EQ(ex.id, inv.id);
  EXPECT_EQ(ex.vendor, inv.vendor);
  EXPECT_EQ(ex.po_reference, inv.po_reference);
  EXPECT_EQ(ex.currency, "EUR");
  EXPECT_EQ(ex.lines, inv.lines);
  EXPECT_EQ(ex.total_cents, inv.total_cents);
  EXPECT_EQ(validate(ex, inv.id), 0u);
}

TEST(Invoice, AmountsParseWithAtMostTwoDecimals) {
  std::int64_t c = 0;
  EXPECT_TRUE(parse_amount_cents("2580.50", c));
  EXPECT_EQ(c, 258050);
  EXPECT_TRUE(parse_amount_cents("7.5", c));
  EXPECT_EQ(c, 750);
  EXPECT_TRUE(parse_amount_cents("12", c));
  EXPECT_EQ(c, 1200);
  EXPECT_FALSE(parse_amount_cents("1.234", c));
  EXPECT_FALSE(parse_amount_cents("-3.00", c));
  EXPECT_FALSE(parse_amount_cents("12a", c));
  EXPECT_FALSE(parse_amount_cents("99999999999999999999", c));
  EXPECT_EQ(format_amount(258050), "2580.50");
  EXPECT_EQ(format_amount(-5), "-0.05");
}

TEST(Invoice, PoReferencesAreCanonicalOnlyWithDashAndSixDigits) {
  std::uint64_t n = 0;
  EXPECT_TRUE(parse_po_number("PO-001042", n));
  EXPECT_EQ(n, 1042u);
  EXPECT_FALSE(parse_po_number("PO 001042", n));
  EXPECT_FALSE(parse_po_number("po-001042", n));
  EXPECT_FALSE(parse_po_number("P0-001042", n));
  EXPECT_EQ(format_po_reference(42), "PO-000042");
}

TEST(Invoice, TotalsThatDoNotAddUpAreRejected) {
  Invoice inv = sample();
  inv.total_cents += 1;
  inv.document = render_document(inv);
  EXPECT_EQ(validate(parse_document(inv.document), inv.id), static_cast<std::uint32_t>(kTotalMismatch));
}

TEST(Invoice, CorruptedDocumentsAreRejectedNeverTrusted) {
  const Invoice inv = sample();
  const std::string doc = inv.document;
  auto problems = [&](const std::string& text) { return validate(parse_document(text), inv.id); };

  EXPECT_NE(problems(doc.substr(0, doc.size() / 2)), 0u);                         // truncated
  EXPECT_NE(problems(""), 0u);                                                    // empty
  EXPECT_TRUE(parse_document("garbage").has(kNoHeader));
  std::string missing = doc;
  missing.erase(missing.find("vendor:"), missing.find('\n', missing.find("vendor:")) - missing.find("vendor:") + 1);
  EXPECT_NE(problems(missing) & kMissingVendor, 0u);                              // missing field
  std::string wrong_type = doc;
  wrong_type.replace(wrong_type.find("total: ") + 7, 7, "lots");
  EXPECT_NE(problems(wrong_type) & kBadNumber, 0u);                               // wrong type
  std::string negative = doc;
  negative.replace(negative.find("total: ") + 7, 0, "-");
  EXPECT_NE(problems(negative) & kNonPositive, 0u);                               // negative amount
  std::string huge = doc;
  huge.replace(huge.find("total: ") + 7, 0, "99999999");
  EXPECT_NE(problems(huge) & kAmountTooLarge, 0u);                                // huge amount
  std::string encoding = doc;
  encoding.replace(encoding.find("Northwind"), 1, "\xff\xfe");
  EXPECT_NE(problems(encoding) & kBadText, 0u);                                   // bad encoding
  std::string markup = doc;
  markup.replace(markup.find("Northwind"), 0, "<script>alert(1)</script>");
  EXPECT_NE(problems(markup) & kBadText, 0u);                                     // markup
  EXPECT_NE(validate(parse_document(doc), inv.id + 1) & kIdMismatch, 0u);         // another invoice's id
  std::string currency = doc;
  currency.replace(currency.find("EUR"), 3, "XXX");
  EXPECT_NE(problems(currency) & kBadCurrency, 0u);
}

TEST(Invoice, ParserSurvivesEverySingleBitFlip) {
  const Invoice inv = sample();
  std::size_t rejected = 0;
  for (std::size_t byte = 0; byte < inv.document.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = inv.document;
      flipped[byte] = static_cast<char>(flipped[byte] ^ (1 << bit));
      rejected += validate(parse_document(flipped), inv.id) != 0 ? 1 : 0;
    }
  }
  // Most flips break something; none crashes the parser.
  EXPECT_GT(rejected, inv.document.size() * 4);
}

}  // namespace
}  // namespace faultline::reference_system
