#include "runtime/tokenizer/special_tokens.h"

#include <algorithm>

namespace greta {

bool SpecialTokens::isSpecialType(TokenType type) {
  return type == TokenType::Control || type == TokenType::Unknown ||
         type == TokenType::UserDefined;
}

SpecialTokens::SpecialTokens(const Vocabulary &vocab) {
  for (int32_t id = 0; id < vocab.size(); ++id) {
    const TokenType type = vocab.types[id];
    const std::string &text = vocab.tokens[id];
    if (!isSpecialType(type) || text.empty())
      continue;
    idOfText_.emplace(text, id); // keeps the lowest id of duplicates
    byFirstByte_[static_cast<uint8_t>(text[0])].push_back(
        {text, id, /*userDefined=*/type == TokenType::UserDefined});
  }
  for (std::vector<Candidate> &group : byFirstByte_)
    std::stable_sort(group.begin(), group.end(), [](const Candidate &a, const Candidate &b) {
      return a.text.size() > b.text.size();
    });
}

std::optional<SpecialTokens::Match> SpecialTokens::findNext(std::string_view text, size_t from,
                                                            bool includeControl) const {
  for (size_t pos = from; pos < text.size(); ++pos) {
    const std::vector<Candidate> &group = byFirstByte_[static_cast<uint8_t>(text[pos])];
    const std::string_view rest = text.substr(pos);
    for (const Candidate &candidate : group) {
      if ((includeControl || candidate.userDefined) && rest.starts_with(candidate.text))
        return Match{pos, candidate.text.size(), candidate.id};
    }
  }
  return std::nullopt;
}

std::optional<int32_t> SpecialTokens::find(std::string_view text) const {
  auto it = idOfText_.find(std::string(text));
  if (it == idOfText_.end())
    return std::nullopt;
  return it->second;
}

} // namespace greta
