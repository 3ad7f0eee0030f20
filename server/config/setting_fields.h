#ifndef LOAN_GATEWAY_SERVER_CONFIG_SETTING_FIELDS_H_
#define LOAN_GATEWAY_SERVER_CONFIG_SETTING_FIELDS_H_

#include <google/protobuf/descriptor.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "loan_gateway/config/v1/gateway_config.pb.h"

namespace loan_gateway {

using config::v1::GatewayConfig;

// One setting, found by walking GatewayConfig's descriptor: the component's
// sub-message field (`section`), the setting's field in it, and the options
// that say its flag, default, range and help. Nothing else lists settings.
struct SettingField {
  const google::protobuf::FieldDescriptor* section = nullptr;
  const google::protobuf::FieldDescriptor* field = nullptr;
  const config::v1::Setting* setting = nullptr;

  const std::string& flag() const { return setting->flag(); }
  std::string EnvironmentVariable() const;  // LOAN_GATEWAY_<FLAG>
  std::string Path() const;                 // "upstream.timeout"
  bool IsBool() const;
  bool IsDuration() const;
};

// Every setting, in the order of the message.
const std::vector<SettingField>& SettingFields();

// The setting with that flag name, or null.
const SettingField* FindSetting(absl::string_view flag);

// Sets a setting from text in the flag's syntax: "10s" for a duration,
// "5000", "true", comma-separated for a list. The error says what is wrong
// with the text (the caller names where it came from).
absl::Status SetSettingFromText(GatewayConfig& config, const SettingField& s,
                                absl::string_view text);

// The value in the flag's syntax (what --flag=VALUE would set).
std::string SettingText(const GatewayConfig& config, const SettingField& s);

// Whether `from` gives the setting a value (a config file may leave it out).
bool SettingIsPresent(const GatewayConfig& from, const SettingField& s);

// Replaces the setting in `to` with `from`'s (a list is replaced, not merged).
void CopySetting(const GatewayConfig& from, const SettingField& s,
                 GatewayConfig& to);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_CONFIG_SETTING_FIELDS_H_
