#include "runtime/tokenizer/subword_model.h"

#include <nlohmann/json.hpp>

namespace genrt {

SubwordModel SubwordModel::from_json(const nlohmann::json& model, const std::string& where) {
  SubwordModel m;
  const std::string type = model.is_object() ? model.value("type", "") : "";
  if (type == "WordPiece") {
    m.model_ = WordPieceModel::from_json(model, where);
  } else if (type == "Unigram") {
    m.model_ = UnigramModel::from_json(model, where);
  } else {
    m.model_ = BpeModel::from_json(model, where);
  }
  return m;
}

}  // namespace genrt
