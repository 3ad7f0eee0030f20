#ifndef LOAN_GATEWAY_SERVER_BINANCE_JSON_SCALAR_H_
#define LOAN_GATEWAY_SERVER_BINANCE_JSON_SCALAR_H_

#include <simdjson.h>

#include <string>

namespace loan_gateway::binance {

// Reads a JSON value that Binance sends as a string or a number (ids,
// amounts) as its exact text: numbers as their raw token, never through a
// double. False for any other type. `was_number` may be null.
bool ReadJsonScalarText(simdjson::ondemand::value value, std::string* out,
                        bool* was_number = nullptr);

}  // namespace loan_gateway::binance

#endif  // LOAN_GATEWAY_SERVER_BINANCE_JSON_SCALAR_H_
