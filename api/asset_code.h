#ifndef LOAN_GATEWAY_API_ASSET_CODE_H_
#define LOAN_GATEWAY_API_ASSET_CODE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "institutional_loan/v1/institutional_loan.pb.h"

// The API's Asset enum and the codes people, Binance and the journal write
// ("USDT"), in one place for the gateway and its client, read from the enum's
// descriptor so a new asset needs no second list.
namespace loan_gateway::api {

// "USDT" for ASSET_USDT; "" for ASSET_UNSPECIFIED or an unknown value.
std::string AssetCode(institutional_loan::v1::Asset asset);

// ASSET_USDT for "USDT" or "usdt"; ASSET_UNSPECIFIED for anything else.
institutional_loan::v1::Asset AssetFromCode(absl::string_view code);

}  // namespace loan_gateway::api

#endif  // LOAN_GATEWAY_API_ASSET_CODE_H_
