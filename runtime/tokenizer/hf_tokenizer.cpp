#include "runtime/tokenizer/hf_tokenizer.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/core/utf8.h"
#include "runtime/io/json_file.h"

namespace genrt {

namespace {

bool is_word_byte(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }
bool is_space_byte(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// A special token named in tokenizer_config.json: a string, or {"content": ...}.
std::optional<std::string> config_token(const nlohmann::json& config, const char* field, const std::string& where) {
  const auto it = config.find(field);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  GENRT_CHECK(it->is_object() && it->contains("content") && (*it)["content"].is_string(),
              "{}: {} must be a string or an object with 'content'", where, field);
  return (*it)["content"].get<std::string>();
}

}  // namespace

HfTokenizer HfTokenizer::open(const std::filesystem::path& path) {
  const auto file = std::filesystem::is_directory(path) ? path / "tokenizer.json" : path;
  GENRT_CHECK(std::filesystem::is_regular_file(file), "no tokenizer.json at {}", file.string());
  const auto config_path = file.parent_path() / "tokenizer_config.json";
  const nlohmann::json config =
      std::filesystem::is_regular_file(config_path) ? read_json_file(config_path) : nlohmann::json();
  return from_json(read_json_file(file), config, file.string());
}

HfTokenizer HfTokenizer::from_json(const nlohmann::json& j, const nlohmann::json& config, const std::string& where) {
  // A field of an unexpected JSON type surfaces as nlohmann's exception: report it as a
  // malformed file, like every other error here.
  try {
    return parse_json(j, config, where);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed tokenizer.json or tokenizer_config.json: {}", where, e.what());
  }
}

HfTokenizer HfTokenizer::parse_json(const nlohmann::json& j, const nlohmann::json& config, const std::string& where) {
  GENRT_CHECK(j.is_object() && j.contains("model"), "{}: not a tokenizer.json (no 'model')", where);
  HfTokenizer t;
  t.model_ = SubwordModel::from_json(j["model"], where);
  t.normalizer_ = make_normalizer(j.value("normalizer", nlohmann::json()), where);
  t.pre_tokenizer_ = make_pre_tokenizer(j.value("pre_tokenizer", nlohmann::json()), where);
  t.decoder_ = make_decoder(j.value("decoder", nlohmann::json()), where);
  t.vocab_size_ = t.model_.id_bound();

  for (const auto& a : j.value("added_tokens", nlohmann::json::array())) {
    AddedToken token;
    GENRT_CHECK(a.is_object() && a.contains("id") && a.contains("content"), "{}: added token {} needs id and content",
                where, a.dump());
    token.content = a["content"].get<std::string>();
    const auto id = a["id"].get<int64_t>();
    GENRT_CHECK(id >= 0 && id < std::numeric_limits<int32_t>::max(), "{}: added token '{}' has id {}", where,
                token.content, id);
    token.id = static_cast<int32_t>(id);
    GENRT_CHECK(!token.content.empty(), "{}: added token {} is empty", where, id);
    GENRT_CHECK(token.content.size() <= BpeModel::kMaxTokenBytes, "{}: added token {} is {} bytes, over the {}-byte limit",
                where, id, token.content.size(), BpeModel::kMaxTokenBytes);
    const std::string* in_vocab = t.model_.token(token.id);
    GENRT_CHECK(in_vocab == nullptr || *in_vocab == token.content,
                "{}: added token '{}' has id {}, which the vocabulary gives to '{}'", where, token.content, id,
                *in_vocab);
    token.special = a.value("special", false);
    token.lstrip = a.value("lstrip", false);
    token.rstrip = a.value("rstrip", false);
    token.single_word = a.value("single_word", false);
    t.added_by_id_[token.id] = t.added_.size();
    t.added_.push_back(std::move(token));
    t.vocab_size_ = std::max<int64_t>(t.vocab_size_, id + 1);
  }
  for (size_t i = 0; i < t.added_.size(); ++i) {
    t.added_by_first_byte_[static_cast<unsigned char>(t.added_[i].content[0])].push_back(i);
  }
  for (auto& bucket : t.added_by_first_byte_) {
    std::sort(bucket.begin(), bucket.end(),
              [&](size_t a, size_t b) { return t.added_[a].content.size() > t.added_[b].content.size(); });
  }
  t.read_post_processor(j.value("post_processor", nlohmann::json()), where);
  if (!config.is_null()) t.read_config(config, where);
  return t;
}

std::optional<int32_t> HfTokenizer::token_id(std::string_view token) const {
  for (const AddedToken& a : added_) {
    if (a.content == token) return a.id;
  }
  return model_.token_id(token);
}

void HfTokenizer::read_post_processor(const nlohmann::json& spec, const std::string& where) {
  if (spec.is_null()) return;
  const std::string type = spec.at("type").get<std::string>();
  const std::string at = where + ": post_processor " + type;
  auto special = [&](const std::string& name, int64_t id) {
    GENRT_CHECK(id >= 0 && id < vocab_size_, "{}: special token '{}' has id {}, outside the vocabulary of {}", at,
                name, id, vocab_size_);
    return static_cast<int32_t>(id);
  };
  if (type == "Sequence") {
    for (const auto& p : spec.at("processors")) read_post_processor(p, where);
  } else if (type == "TemplateProcessing") {
    // "single": [{"SpecialToken": {"id": "<s>"}}, {"Sequence": {"id": "A"}}, ...]
    bool after_text = false;
    for (const auto& piece : spec.at("single")) {
      if (piece.contains("Sequence")) {
        after_text = true;
        continue;
      }
      const std::string name = piece.at("SpecialToken").at("id").get<std::string>();
      const auto& entry = spec.at("special_tokens").at(name);
      for (const auto& id : entry.at("ids")) (after_text ? suffix_ : prefix_).push_back(special(name, id.get<int64_t>()));
    }
  } else if (type == "RobertaProcessing" || type == "BertProcessing") {
    prefix_.push_back(special(spec.at("cls")[0].get<std::string>(), spec.at("cls")[1].get<int64_t>()));
    suffix_.push_back(special(spec.at("sep")[0].get<std::string>(), spec.at("sep")[1].get<int64_t>()));
  } else {
    GENRT_CHECK(type == "ByteLevel", "{}: post_processor type '{}' is not supported", where, type);
  }
}

void HfTokenizer::read_config(const nlohmann::json& config, const std::string& where) {
  GENRT_CHECK(config.is_object(), "{}: tokenizer_config.json is not an object", where);
  auto lookup = [&](const char* field) -> std::optional<int32_t> {
    const auto name = config_token(config, field, where);
    if (!name) return std::nullopt;
    const auto id = token_id(*name);
    GENRT_CHECK(id.has_value(), "{}: tokenizer_config.json {} '{}' is not in the vocabulary", where, field, *name);
    return id;
  };
  bos_ = lookup("bos_token");
  eos_ = lookup("eos_token");
  // add_bos_token / add_eos_token, where given, decide what encode() puts around text
  // (transformers' Llama tokenizers rewrite their post-processor the same way).
  if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) {
    prefix_.clear();
    if (config["add_bos_token"].get<bool>()) {
      GENRT_CHECK(bos_.has_value(), "{}: add_bos_token is true but there is no bos_token", where);
      prefix_.push_back(*bos_);
    }
  }
  if (config.contains("add_eos_token") && config["add_eos_token"].is_boolean()) {
    suffix_.clear();
    if (config["add_eos_token"].get<bool>()) {
      GENRT_CHECK(eos_.has_value(), "{}: add_eos_token is true but there is no eos_token", where);
      suffix_.push_back(*eos_);
    }
  }
  const auto chat = config.find("chat_template");
  if (chat != config.end() && chat->is_string()) {
    chat_template_ = chat->get<std::string>();
  } else if (chat != config.end() && chat->is_array()) {  // [{"name": "default", "template": ...}, ...]
    for (const auto& entry : *chat) {
      if (entry.value("name", "") == "default") chat_template_ = entry.value("template", "");
    }
  }
}

const HfTokenizer::AddedToken* HfTokenizer::added_at(std::string_view text, size_t pos) const {
  for (size_t index : added_by_first_byte_[static_cast<unsigned char>(text[pos])]) {
    const AddedToken& a = added_[index];
    if (text.compare(pos, a.content.size(), a.content) != 0) continue;
    if (a.single_word) {
      const size_t end = pos + a.content.size();
      const bool word_before = pos > 0 && is_word_byte(static_cast<unsigned char>(text[pos - 1]));
      const bool word_after = end < text.size() && is_word_byte(static_cast<unsigned char>(text[end]));
      if (word_before || word_after) continue;
    }
    return &a;  // the longest match here: buckets are sorted by length
  }
  return nullptr;
}

std::vector<HfTokenizer::Segment> HfTokenizer::split_added_tokens(std::string_view text) const {
  std::vector<Segment> segments;
  size_t text_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const AddedToken* a = added_.empty() ? nullptr : added_at(text, pos);
    if (a == nullptr) {
      ++pos;
      continue;
    }
    size_t text_end = pos, after = pos + a->content.size();
    if (a->lstrip) {
      while (text_end > text_start && is_space_byte(text[text_end - 1])) --text_end;
    }
    if (a->rstrip) {
      while (after < text.size() && is_space_byte(text[after])) ++after;
    }
    if (text_end > text_start) segments.push_back({text.substr(text_start, text_end - text_start)});
    segments.push_back({text.substr(pos, a->content.size()), a});
    pos = text_start = after;
  }
  if (text_start < text.size()) segments.push_back({text.substr(text_start)});
  return segments;
}

std::vector<int32_t> HfTokenizer::encode(std::string_view raw, bool add_special) const {
  const std::string text = utf8_lossy(raw);
  std::vector<int32_t> ids;
  if (add_special) ids = prefix_;
  for (const Segment& segment : split_added_tokens(text)) {
    if (segment.added != nullptr) {
      ids.push_back(segment.added->id);
      continue;
    }
    std::vector<std::string> words = {normalizer_(std::string(segment.text))};
    if (words[0].empty()) continue;
    pre_tokenizer_(words, segment.text.data() == text.data());
    for (const std::string& word : words) {
      if (!word.empty()) model_.encode_word(word, ids);
    }
  }
  if (add_special) ids.insert(ids.end(), suffix_.begin(), suffix_.end());
  return ids;
}

std::string HfTokenizer::token_text(int32_t id) const {
  if (const auto it = added_by_id_.find(id); it != added_by_id_.end()) return added_[it->second].content;
  const std::string* token = model_.token(id);
  GENRT_CHECK(token != nullptr, "token id {} is not in the vocabulary (of {})", id, vocab_size_);
  return *token;
}

bool HfTokenizer::is_special(int32_t id) const {
  const auto it = added_by_id_.find(id);
  return it != added_by_id_.end() && added_[it->second].special;
}

std::string HfTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (skip_special && is_special(id)) continue;
    // An id past the tokenizer's vocabulary (a model's is often padded beyond it: T5's
    // 32,128 against 32,100 pieces) spells nothing, as in Hugging Face tokenizers.
    if (added_by_id_.contains(id) || model_.token(id) != nullptr) tokens.push_back(token_text(id));
  }
  decoder_(tokens);
  std::string text;
  for (const std::string& t : tokens) text += t;
  return text;
}

}  // namespace genrt
