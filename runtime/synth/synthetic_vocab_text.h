//===- synthetic_vocab_text.h - Fixed inputs of the synthetic tokenizer ---===//
//
// The English text the synthetic tokenizer learns its merges from (original prose written for
// this purpose: common English words, so the merges look like a real BPE vocabulary's first ones),
// and the Llama-3 Instruct chat template, as in Meta's tokenizer_config.json (see
// ../shared/testdata/llama3-tokenizer). Included only by synthetic_vocab.cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string_view>

namespace greta::synth {

inline constexpr std::string_view kMergeTrainingText = R"(On the morning of the first market day, the people of the river town walked down to the water
with baskets of bread, apples and cheese. The old bridge was busy, and the boats were waiting at the
edge of the harbour. A young woman named Clara sold fresh fish from a small wooden table, and her
brother Thomas counted the coins in a leather bag. When the sun was high, the children ran between
the stalls and the dogs followed them, hoping that someone would drop something good to eat.

In the afternoon the weather changed. Dark clouds came over the hills, the wind turned cold, and the
first drops of rain fell on the roofs. Most of the traders covered their goods and went into the
inn at the corner of the square, where a fire was burning and the owner was making hot soup. They
talked about the harvest, about the price of wheat and wool, and about the new road that the council
wanted to build through the forest to the city in the north.

The city was a place that many of them had never seen. Some said that the streets there were made of
stone and that the houses were so tall that they hid the sky. Others said that the city was noisy
and crowded, that the water was not clean, and that nobody there had time to listen to a story. The
oldest man in the room, who had worked as a carpenter for more than fifty years, said that every place
has good people and bad people, and that a road is only as useful as the reason you have to travel.

A model that reads text does not see words the way people do. It sees small pieces of text, called
tokens, and it learns which token is likely to come next. The pieces are found by counting which pairs
of letters appear together most often and joining them, again and again, until common words such as
the, and, that or with become single tokens while rare words are still built from smaller parts. This
simple method works for any language, because every text can fall back to single bytes when nothing
larger fits.

The program that runs such a model has to do the same arithmetic many times for every token. It reads
the weights of each layer from memory, multiplies them with the current state, and writes the result
for the next layer. When the program is fast, the answer appears as quickly as you can read it; when
it is slow, you wait. Engineers therefore measure how many bytes per second the machine can move, and
they compare the time of each step with that limit, to learn where the time goes and what to change.

By evening the rain had stopped. The traders went back to their stalls, the boats returned with the
last light, and the lamps were lit along the bridge. Clara and Thomas packed their table onto the cart,
said goodbye to their friends, and walked home along the river, talking quietly about the day and
about the long road to the city that they might travel together one day in the spring.
)";

inline constexpr std::string_view kLlama3ChatTemplate = R"({% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>

'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>

' }})";

} // namespace greta::synth
