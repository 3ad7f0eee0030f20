#include "config/gateway_config.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "config/setting_ranges.h"
#include "proto_file/message_file.h"

namespace loan_gateway {
namespace {

// Edit distance, for naming the setting a misspelt name meant.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string ClosestFlag(absl::string_view name) {
  std::string closest;
  size_t best = std::string::npos;
  for (const SettingField& s : SettingFields()) {
    if (const size_t d = EditDistance(name, s.flag()); d < best) {
      best = d;
      closest = s.flag();
    }
  }
  return closest;
}

// A Markdown cell: the pipes of a help text must not split it.
std::string Cell(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"|", "\\|"}});
}

}  // namespace

GatewayConfig DefaultGatewayConfig() {
  GatewayConfig config;
  for (const SettingField& s : SettingFields()) {
    // The defaults are the proto's own options; a bad one is a bug caught by
    // the config test, which checks that each one parses.
    (void)SetSettingFromText(config, s, s.setting->default_value());
  }
  return config;
}

absl::StatusOr<GatewayConfig> ReadConfigFile(const std::string& path) {
  GatewayConfig config;
  if (absl::Status read = ReadMessageFile("--config", path, config);
      !read.ok()) {
    return read;
  }
  return config;
}

void OverlaySettings(const GatewayConfig& from, GatewayConfig& to) {
  for (const SettingField& s : SettingFields()) {
    if (SettingIsPresent(from, s)) CopySetting(from, s, to);
  }
}

absl::Status ApplyEnvironment(
    GatewayConfig& config,
    const std::function<const char*(const char*)>& getenv) {
  for (const SettingField& s : SettingFields()) {
    const std::string variable = s.EnvironmentVariable();
    const char* value = getenv(variable.c_str());
    if (value == nullptr) continue;
    if (absl::Status set = SetSettingFromText(config, s, value); !set.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          variable, ": bad value \"", value, "\": ", set.message()));
    }
  }
  return absl::OkStatus();
}

std::string ClosestFlagHint(absl::string_view name) {
  const std::string closest = ClosestFlag(name);
  return closest.empty() ? "" : absl::StrCat("; did you mean --", closest, "?");
}

absl::Status RejectUnknownGatewayVariables(
    const std::vector<std::string>& variable_names) {
  for (const std::string& variable : variable_names) {
    absl::string_view rest = variable;
    if (!absl::ConsumePrefix(&rest, "LOAN_GATEWAY_")) continue;
    const std::string flag = absl::AsciiStrToLower(rest);
    if (flag == "config" || FindSetting(flag) != nullptr) continue;
    const std::string closest = ClosestFlag(flag);
    // A typo must not silently leave a default in place (the default
    // upstream is production Binance).
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown environment variable ", variable,
        ": no gateway setting has that name; did you mean LOAN_GATEWAY_",
        absl::AsciiStrToUpper(closest), " (--", closest, ")?"));
  }
  return absl::OkStatus();
}

absl::Status ValidateGatewayConfig(const GatewayConfig& c) {
  for (const SettingField& s : SettingFields()) {
    if (s.setting->required() && SettingText(c, s).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", s.flag(), " is required"));
    }
  }
  if (absl::Status ranges = ValidateSettingRanges(c); !ranges.ok()) {
    return ranges;
  }
  return ValidateSettingRelations(c);
}

std::string RedactedDump(const GatewayConfig& config) {
  std::string out;
  for (const SettingField& s : SettingFields()) {
    std::string value = SettingText(config, s);
    if (value.empty() && !s.setting->when_empty().empty()) {
      value = absl::StrCat("(", s.setting->when_empty(), ")");
    }
    absl::StrAppend(&out, out.empty() ? "" : " ", s.flag(), "=", value);
  }
  return out;
}

std::string RenderSettingsTableMarkdown() {
  std::string out =
      "| flag (env `LOAN_GATEWAY_<FLAG>`) | `--config` field | default | "
      "range | meaning |\n|---|---|---|---|---|\n";
  for (const SettingField& s : SettingFields()) {
    const config::v1::Setting& o = *s.setting;
    std::string fallback = o.required() ? "required" : "";
    if (!o.when_empty().empty()) fallback = o.when_empty();
    const std::string value = o.default_value().empty()
                                  ? fallback
                                  : absl::StrCat("`", o.default_value(), "`");
    const std::string range =
        o.min().empty() ? "" : absl::StrCat(o.min(), " – ", o.max());
    absl::StrAppend(&out, "| `--", s.flag(), "` | `", s.Path(), "` | ", value,
                    " | ", range, " | ", Cell(o.help()), " |\n");
  }
  absl::StrAppend(
      &out,
      "| `--config` | | | | a GatewayConfig file, text format or JSON "
      "(`.json`); the environment and the command line win over it |\n"
      "| `--print_error_table` | | | | print the error contract as Markdown "
      "and exit |\n"
      "| `--print_settings_table` | | | | print this table and exit |\n"
      "| `--help`, `--version` | | | | every setting with its variable and "
      "default; the version (also `loan_gateway_build_info`) |\n");
  return out;
}

namespace {

std::string BesideJournal(const GatewayConfig& config, absl::string_view name) {
  const std::string& journal = config.journal().path();
  const size_t slash = journal.rfind('/');
  return absl::StrCat(
      slash == std::string::npos ? "." : journal.substr(0, slash), "/", name);
}

}  // namespace

std::string AuditLogPath(const GatewayConfig& config) {
  return config.access().audit_log().empty()
             ? BesideJournal(config, "audit.jsonl")
             : config.access().audit_log();
}

bool AuditInJournal(const GatewayConfig& config) {
  return config.access().audit_in_journal() ||
         (config.access().audit_log().empty() &&
          !config.journal().url().empty());
}

std::string HaltFilePath(const GatewayConfig& config) {
  return config.access().halt_file().empty()
             ? BesideJournal(config, "borrowing-halted")
             : config.access().halt_file();
}

}  // namespace loan_gateway
