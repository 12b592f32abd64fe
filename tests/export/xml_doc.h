// A parsed XML document for tests (libxml2, where the build found it):
// well-formedness and XPath queries, nothing more.
#pragma once

#include <memory>
#include <string>
#include <vector>

#ifdef SF_HAVE_LIBXML2
#include <libxml/parser.h>
#include <libxml/xpath.h>
#endif

namespace sf::testing {

#ifdef SF_HAVE_LIBXML2
class XmlDoc {
 public:
  // Parses `text` strictly (no network, no entity loading); ok() tells
  // whether it is well-formed.
  explicit XmlDoc(const std::string& text)
      : doc_(xmlReadMemory(text.data(), static_cast<int>(text.size()), "export.xml", "UTF-8",
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
             &xmlFreeDoc) {}
  bool ok() const { return doc_ != nullptr; }

  // The string values of the nodes `xpath` selects, in document order.
  std::vector<std::string> all(const std::string& xpath) const {
    std::vector<std::string> out;
    if (!doc_) return out;
    std::unique_ptr<xmlXPathContext, decltype(&xmlXPathFreeContext)> ctx(xmlXPathNewContext(doc_.get()),
                                                                         &xmlXPathFreeContext);
    std::unique_ptr<xmlXPathObject, decltype(&xmlXPathFreeObject)> res(
        xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(xpath.c_str()), ctx.get()), &xmlXPathFreeObject);
    if (!res || res->nodesetval == nullptr) return out;
    for (int i = 0; i < res->nodesetval->nodeNr; ++i) {
      xmlChar* s = xmlNodeGetContent(res->nodesetval->nodeTab[i]);
      out.emplace_back(s != nullptr ? reinterpret_cast<const char*>(s) : "");
      xmlFree(s);
    }
    return out;
  }
  std::string one(const std::string& xpath) const {
    auto v = all(xpath);
    return v.size() == 1 ? v[0] : "<" + std::to_string(v.size()) + " nodes for " + xpath + ">";
  }
  size_t count(const std::string& xpath) const { return all(xpath).size(); }

 private:
  std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc_;
};
#endif

}  // namespace sf::testing
