#pragma once
// What `genrt embed` and `genrt fill-mask` share: an encoder folder opened on the device
// the flags name, with its tokenizer.json.

#include <string>

#include "runtime/models/bert/bert_model.h"
#include "runtime/tokenizer/hf_tokenizer.h"
#include "tools/genrt/common.h"

namespace genrt::cli {

struct LoadedEncoder {
  BertModel model;
  HfTokenizer tokenizer;
};

LoadedEncoder load_encoder(const std::string& model_dir, const DeviceFlags& device);

// Whether `model` is a folder whose config.json names a BERT or RoBERTa encoder.
bool is_encoder(const std::string& model);

// The text's ids with the tokenizer's special tokens ([CLS] ... [SEP]), within the context.
std::vector<int32_t> encode_for(const LoadedEncoder& encoder, const std::string& text);

}  // namespace genrt::cli
