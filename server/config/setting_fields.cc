#include "config/setting_fields.h"

#include <google/protobuf/duration.pb.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "proto_time/proto_time.h"

namespace loan_gateway {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::vector<SettingField> WalkDescriptor() {
  std::vector<SettingField> out;
  const google::protobuf::Descriptor* root = GatewayConfig::descriptor();
  for (int i = 0; i < root->field_count(); ++i) {
    const FieldDescriptor* section = root->field(i);
    const google::protobuf::Descriptor* type = section->message_type();
    for (int j = 0; j < type->field_count(); ++j) {
      const FieldDescriptor* field = type->field(j);
      out.push_back({section, field,
                     &field->options().GetExtension(config::v1::setting)});
    }
  }
  return out;
}

const Message& SectionOf(const GatewayConfig& c, const SettingField& s) {
  return c.GetReflection()->GetMessage(c, s.section);
}

Message* MutableSectionOf(GatewayConfig& c, const SettingField& s) {
  return c.GetReflection()->MutableMessage(&c, s.section);
}

absl::Status SetDuration(Message& section, const FieldDescriptor* field,
                         absl::string_view text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(
        "not a duration (a number and a unit: 500ms, 10s, 2m, 48h)");
  }
  section.GetReflection()
      ->MutableMessage(&section, field)
      ->CopyFrom(ToProtoDuration(d));
  return absl::OkStatus();
}

}  // namespace

std::string SettingField::EnvironmentVariable() const {
  return absl::StrCat("LOAN_GATEWAY_", absl::AsciiStrToUpper(flag()));
}

std::string SettingField::Path() const {
  return absl::StrCat(section->name(), ".", field->name());
}

bool SettingField::IsBool() const {
  return field->cpp_type() == FieldDescriptor::CPPTYPE_BOOL;
}

bool SettingField::IsDuration() const {
  return field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
}

const std::vector<SettingField>& SettingFields() {
  static const auto* const fields =
      new std::vector<SettingField>(WalkDescriptor());
  return *fields;
}

const SettingField* FindSetting(absl::string_view flag) {
  for (const SettingField& s : SettingFields()) {
    if (s.flag() == flag) return &s;
  }
  return nullptr;
}

absl::Status SetSettingFromText(GatewayConfig& config, const SettingField& s,
                                absl::string_view text) {
  Message& section = *MutableSectionOf(config, s);
  const Reflection& r = *section.GetReflection();
  if (s.IsDuration()) return SetDuration(section, s.field, text);
  if (s.field->is_repeated()) {
    r.ClearField(&section, s.field);
    for (absl::string_view item :
         absl::StrSplit(text, ',', absl::SkipWhitespace())) {
      r.AddString(&section, s.field,
                  std::string(absl::StripAsciiWhitespace(item)));
    }
    return absl::OkStatus();
  }
  switch (s.field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      r.SetString(&section, s.field, std::string(text));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t value = 0;
      if (!absl::SimpleAtoi(text, &value)) {
        return absl::InvalidArgumentError("not an integer");
      }
      r.SetInt64(&section, s.field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool value = false;
      if (!absl::SimpleAtob(text, &value)) {
        return absl::InvalidArgumentError("not a boolean (true or false)");
      }
      r.SetBool(&section, s.field, value);
      return absl::OkStatus();
    }
    default:
      return absl::InternalError(
          absl::StrCat("setting ", s.Path(), " has a type the loader lacks"));
  }
}

std::string SettingText(const GatewayConfig& config, const SettingField& s) {
  const Message& section = SectionOf(config, s);
  const Reflection& r = *section.GetReflection();
  if (s.IsDuration()) {
    return absl::FormatDuration(
        FromProtoDuration(static_cast<const google::protobuf::Duration&>(
            r.GetMessage(section, s.field))));
  }
  if (s.field->is_repeated()) {
    std::vector<std::string> items;
    for (int i = 0; i < r.FieldSize(section, s.field); ++i) {
      items.push_back(r.GetRepeatedString(section, s.field, i));
    }
    return absl::StrJoin(items, ",");
  }
  switch (s.field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return r.GetString(section, s.field);
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(r.GetInt64(section, s.field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return r.GetBool(section, s.field) ? "true" : "false";
    default:
      return "";
  }
}

bool SettingIsPresent(const GatewayConfig& from, const SettingField& s) {
  if (!from.GetReflection()->HasField(from, s.section)) return false;
  const Message& section = SectionOf(from, s);
  const Reflection& r = *section.GetReflection();
  return s.field->is_repeated() ? r.FieldSize(section, s.field) > 0
                                : r.HasField(section, s.field);
}

void CopySetting(const GatewayConfig& from, const SettingField& s,
                 GatewayConfig& to) {
  const Message& source = SectionOf(from, s);
  Message& target = *MutableSectionOf(to, s);
  const Reflection& r = *target.GetReflection();
  r.ClearField(&target, s.field);
  if (s.field->is_repeated()) {
    for (int i = 0; i < r.FieldSize(source, s.field); ++i) {
      r.AddString(&target, s.field, r.GetRepeatedString(source, s.field, i));
    }
  } else if (s.IsDuration()) {
    r.MutableMessage(&target, s.field)->CopyFrom(r.GetMessage(source, s.field));
  } else if (s.field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    r.SetString(&target, s.field, r.GetString(source, s.field));
  } else if (s.field->cpp_type() == FieldDescriptor::CPPTYPE_INT64) {
    r.SetInt64(&target, s.field, r.GetInt64(source, s.field));
  } else if (s.field->cpp_type() == FieldDescriptor::CPPTYPE_BOOL) {
    r.SetBool(&target, s.field, r.GetBool(source, s.field));
  }
}

}  // namespace loan_gateway
