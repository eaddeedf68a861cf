"""Golden chat-template renderings from transformers' own Jinja renderer
(transformers.utils.chat_template_utils.render_jinja_template, what apply_chat_template
uses), for the chat formats genrt recognizes. The templates are those the model families
ship in tokenizer_config.json; genrt detects the family from the template text and
renders the format itself, and these goldens check that the two agree.

Usage: python tools/golden/chat_templates.py   (needs transformers, jinja2)
"""

from transformers.utils.chat_template_utils import render_jinja_template

from common import DATA_DIR, write_json

TEMPLATES = {
    "llama3": (
        "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
        "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
        "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
        "{{ content }}{% endfor %}{% if add_generation_prompt %}"
        "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
        "<|begin_of_text|>", "<|end_of_text|>"),
    "chatml": (
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
        "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
        "", "<|im_end|>"),
    "chatml_plain": (
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
        "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
        "", "<|im_end|>"),
    "llama2": (
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
        "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
        "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
        "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if loop.index0 == 0 and system_message != false %}"
        "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
        "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
        "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
        "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
        "<s>", "</s>"),
    "mistral": (
        "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
        "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
        "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
        "<s>", "</s>"),
    "gemma": (
        "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
        "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
        "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
        "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}",
        "<bos>", "<eos>"),
}

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "  What is 2+2? \n"}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " Hello, how can I help? "},
     {"role": "user", "content": "Tell me a story.\nMake it short."}],
    [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "One"},
     {"role": "assistant", "content": "Two"}, {"role": "user", "content": "Three"}],
]


def main():
    cases = []
    for family, (template, bos, eos) in TEMPLATES.items():
        for messages in CONVERSATIONS:
            for add_generation_prompt in (True, False):
                try:
                    rendered = render_jinja_template([messages], chat_template=template, bos_token=bos, eos_token=eos,
                                                     add_generation_prompt=add_generation_prompt)[0][0]
                    error = None
                except Exception as e:  # the template's raise_exception: genrt must refuse too
                    rendered, error = None, str(e)
                cases.append({"family": family, "messages": messages, "add_generation_prompt": add_generation_prompt,
                              "rendered": rendered, "error": error})
    write_json(DATA_DIR / "chat_templates.json",
               {"source": "transformers render_jinja_template", "bos_eos": {f: [b, e] for f, (_, b, e) in TEMPLATES.items()},
                "templates": {f: t for f, (t, _, _) in TEMPLATES.items()}, "cases": cases})


if __name__ == "__main__":
    main()
