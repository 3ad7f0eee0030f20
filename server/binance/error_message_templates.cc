#include "binance/error_message_templates.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "validate/decimal.h"

namespace loan_gateway::binance {
namespace {

// Binance's institutional-loan error-code reference
// (developers.binance.com/docs/institutional_loan/error-code), English and
// Chinese pages, verbatim. The English text of -27020 is not in the
// reference we hold, so only its Chinese one is recognised.
const std::map<int64_t, std::vector<std::string>>& Templates() {
  static const auto* templates =
      new std::map<int64_t, std::vector<std::string>>{
          {-27009,
           {"The requested borrow amount exceeds the maximum allowed limit. "
            "Maximum borrowable for asset {0} is {1}, but request {2}.",
            "请求的借贷额度超过最大可借额度,币种 {0} 最大可借为 {1},请求数量为 "
            "{2}"}},
          {-27012,
           {"User has insufficient available margin to borrow asset {1}: "
            "requested {2}, available {3}.",
            "用户的维持保证金不足,借贷币种 {1},请求数量 {2},可用数量 {3}"}},
          {-27020, {"风险单元 {0} 的 LTV 过高({1}),超出初始 LTV 阈值 {2}"}},
      };
  return *templates;
}

bool IsAmount(const std::string& text) {
  return Decimal::ParseUpstream(text).ok();
}

bool IsAssetName(const std::string& text) {
  if (text.empty() || text.size() > 20) return false;
  for (char c : text) {
    if (!absl::ascii_isupper(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// An LTV as Binance prints it: a decimal, or a decimal percentage.
bool IsRatio(const std::string& text) {
  absl::string_view v = text;
  if (!v.empty() && v.back() == '%') v.remove_suffix(1);
  return IsAmount(std::string(v));
}

// Splits a template into literals and placeholder numbers:
// literals[0] {numbers[0]} literals[1] ... {numbers[n-1]} literals[n].
bool Parse(absl::string_view tmpl, std::vector<std::string>& literals,
           std::vector<int>& numbers) {
  literals.emplace_back();
  size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] == '{') {
      const size_t close = tmpl.find('}', i);
      int n = 0;
      if (close == absl::string_view::npos ||
          !absl::SimpleAtoi(tmpl.substr(i + 1, close - i - 1), &n)) {
        return false;
      }
      numbers.push_back(n);
      literals.emplace_back();
      i = close + 1;
    } else {
      literals.back().push_back(tmpl[i++]);
    }
  }
  return true;
}

std::optional<StatedFigures> Figures(int64_t code,
                                     const std::map<int, std::string>& c) {
  StatedFigures f;
  switch (code) {
    case -27009:
      f.asset = c.at(0), f.max_amount = c.at(1), f.requested = c.at(2);
      if (IsAssetName(f.asset) && IsAmount(f.max_amount) &&
          IsAmount(f.requested)) {
        return f;
      }
      break;
    case -27012:
      f.asset = c.at(1), f.requested = c.at(2), f.available = c.at(3);
      if (IsAssetName(f.asset) && IsAmount(f.requested) &&
          IsAmount(f.available)) {
        return f;
      }
      break;
    case -27020:
      f.ltv = c.at(1), f.initial_ltv = c.at(2);
      if (IsRatio(f.ltv) && IsRatio(f.initial_ltv)) return f;
      break;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::map<int, std::string>> MatchMessageTemplate(
    absl::string_view message_template, absl::string_view msg) {
  std::vector<std::string> literals;
  std::vector<int> numbers;
  if (!Parse(message_template, literals, numbers) ||
      !absl::StartsWith(msg, literals[0])) {
    return std::nullopt;
  }
  std::map<int, std::string> captures;
  size_t pos = literals[0].size();
  for (size_t k = 0; k < numbers.size(); ++k) {
    const std::string& next = literals[k + 1];
    const bool last = k + 1 == numbers.size();
    size_t end = 0;
    if (last) {
      if (msg.size() < pos + next.size() || !absl::EndsWith(msg, next)) {
        return std::nullopt;
      }
      end = msg.size() - next.size();
    } else {
      end = next.empty() ? absl::string_view::npos : msg.find(next, pos);
      if (end == absl::string_view::npos) return std::nullopt;
    }
    if (end <= pos) return std::nullopt;  // Empty capture.
    captures[numbers[k]] = std::string(msg.substr(pos, end - pos));
    pos = end + next.size();
  }
  if (numbers.empty() && msg != literals[0]) return std::nullopt;
  return captures;
}

std::optional<StatedFigures> ReadStatedFigures(int64_t code,
                                               absl::string_view msg) {
  for (const std::string& tmpl : DocumentedTemplates(code)) {
    if (auto captures = MatchMessageTemplate(tmpl, msg)) {
      return Figures(code, *captures);
    }
  }
  return std::nullopt;
}

const std::vector<std::string>& DocumentedTemplates(int64_t code) {
  static const std::vector<std::string> kNone;
  auto it = Templates().find(code);
  return it == Templates().end() ? kNone : it->second;
}

}  // namespace loan_gateway::binance
