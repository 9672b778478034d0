"""Parses a model's raw output into a clean list of queries, and validates it. Lenient about format (bullets,
numbering, quotes, comma-joined lists), strict about content.

Content checks, in two layers:

* :func:`query_problem` (no context; :func:`parse_queries` applies it): length, no URL, email or phone, nothing that
  reads as an instruction, a role marker or a delimiter (:func:`looks_like_instruction`), and language-agnostic
  sanity (a letter, mostly letters, no control characters, no repeated-token loops or a word twice in a row, no 30+
  character words).
* :func:`grounded` (against the user's own signals, as the generator calls it): a query must share a content word
  with a signal that does not look like an instruction, must not contain a word that only such a signal has, and
  must not copy more than :data:`MAX_COPIED_WORDS` consecutive words from one. A small model copies what it is shown,
  so a prompt injection in a user's activity is stopped here even when the model follows it. It must not be made of
  the prompt's fixed text (:func:`copies_prompt`: the worked example's queries are the model's favourite copy) and
  every word must exist (:func:`models.vocabulary.unknown_words`: the user's own words or the news vocabulary);
  a word with a digit ("cop311", "627", a year) must be one the user wrote.

:func:`validate` runs both, plus an optional list of known payload markers.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Sequence

from models.privacy import contains_pii
from models.prompt import EXAMPLE_ANSWER, SYSTEM, fixed_texts, instruction
from models.text import STOPWORDS, content_words, strip_lead_in
from models.vocabulary import (VOCABULARY_MIN_SHARE, corpus_vocabulary, covered_share, garbled_words, known_forms,
                               swapped_word, unknown_words, word_forms)

MIN_CHARS, MAX_CHARS, MAX_WORDS = 3, 80, 8
MAX_COPIED_WORDS = 3  # a query may share at most this many consecutive words with an instruction-like signal
PROMPT_COPY_WORDS = 3  # this many consecutive words of our own system message or instruction is a prompt leak
MAX_WORD_CHARS = 30  # longer "words" are encoded blobs (base64, hashes) or run-together junk
_BULLET = re.compile(r"^\s*(?:[-*•·]+\s*|(?:\d+[.):]|\(\d+\)|[a-z][.)])\s+)", re.IGNORECASE)
_PREFIX = re.compile(r"^\s*(?:search\s+)?(?:query|queries|q)\s*\d*\s*[:\-]\s*", re.IGNORECASE)
_QUOTES = "\"'“”‘’`"
_ECHO = re.compile(r"search quer|this reader|this user|the reader|the user|news read|pages visited|social activity|"
                   r"instructions", re.IGNORECASE)
_URL_LIKE = re.compile(r"https?:|www\.|://|\b[\w\-]+\.(?:com|net|org|io|ai|co|me|app|dev|xyz|info|biz|ru|cn|tk|top|ly|"
                       r"gg|to|cc|tv|sh|zip|site|online|click|link|example|uk|de|fr)\b", re.IGNORECASE)
_DELIMITER_CHARS = re.compile(r"[<>\[\]{}|\\]|```|###|={3,}|-{3,}")

# --- instruction detection ----------------------------------------------------------------------------------------
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_CONFUSABLES = str.maketrans("аеорсхуікјѕԁһмтвнАВЕКМНОРСТХУІЈЅαεορτυνικχΑΒΕΗΙΚΜΝΟΡΤΥΧΖ",
                             "aeopcxyikjsdhmtbhABEKMHOPCTXYIJSaeoptuvikxABEHIKMNOPTYXZ")
_LEET = str.maketrans("0134579", "oieastg")
_EN_OVERRIDE = (r"\b(?:ignor\w*|disregard\w*|forget|overrid\w*|bypass)\s+(?:(?:all|any|the|your|my|of|previous|"
                r"prior|above|earlier|preceding|former|original|system|these|those|every|other|initial|given|current)"
                r"\s+){0,4}(?:instruction|prompt|rule|direction|guideline|guardrail|constraint|polic(?:y|ie))s?\b"
                r"|\b(?:ignor\w*|disregard\w*|forget)\s+(?:(?:all|the)\s+)?(?:above|everything\s+(?:above|before|"
                r"else))")
_INTL_IGNORE = (r"(?:\b(?:ignorez|ignorer|ignorier\w*|ignora|ignorar|ignorá|ignoruj|vergiss|vergessen|olvida\w*|"
                r"oublie\w*|dimentica\w*|esque[cç]a|negeer|игнор\w*|забудь\w*|не\s+обращай)|忽略|无视|無視|忘记|忘れ|무시|"
                r"تجاهل)")
_INTL_ORDERS = (r"(?:\b(?:instruc\w*|instruç\w*|anweisung\w*|regeln|istruzion\w*|consigne\w*|befehl\w*|инструкц\w*|"
                r"правил\w*|указани\w*|talimat\w*|instrukc\w*)|指令|指示|提示|规则|지시|명령|التعليمات|تعليمات)")
_WRITE = (r"(?:\b(?:output|print|say|type|write|respond|reply|answer|return|repeat|include|append|add|insert|emit|"
          r"echo|écri\w*|répond\w*|schreib\w*|antworte\w*|gib|escrib\w*|respond\w*|scriv\w*|rispond\w*|напиши|"
          r"выведи|ответь)\b|输出|回答|写|出力|書いて|答え|출력|써)")
_OBJECT = (r"(?:\b(?:the\s+(?:word|phrase|string|following\s*(?::|word|text|phrase))|le\s+mot|das\s+wort|"
           r"la\s+palabra|la\s+parola|слово)\b"
           r"|\bin\s+(?:every|each|all)\s+(?:quer|answer|output|response)|\b(?:in|to|into)\s+your\s+(?:quer|output|"
           r"response)|\bthe\s+(?:text|words|lines|message)\s+above|\beverything\s+above|\bverbatim|\bword\s+for\s+word"
           r"|这个词|单词|単語|という|단어)")
_START = r"(?:^|[.!?;:\n]\s*|\b(?:and|then|please|now|just)\s+)"
_INSTRUCTION = re.compile(
    rf"{_EN_OVERRIDE}|{_INTL_IGNORE}.{{0,60}}?{_INTL_ORDERS}|{_INTL_ORDERS}.{{0,40}}?{_INTL_IGNORE}"
    rf"|{_WRITE}.{{0,60}}?{_OBJECT}|{_WRITE}\s*\b(?:only|exactly|verbatim|just|uniquement|nur|solo|sólo|только)\b"
    rf"|{_START}(?:output|print|say|type|write|repeat|echo)\s*:|(?:respond|reply|answer)\s+(?:only\s+)?with\s+"
    r"(?:the\s+word|[\"'“‘«])|(?:^|[.!?;\n]\s*)act\s+as\b"
    r"|\bsystem\s*prompt|\bsystem\s*message|\b(?:dan|jailbreak|jailbroken|unrestricted|god)\s+mode\b"
    r"|\bdo\s+anything\s+now\b|\byou\s+are\s+(?:now|no\s+longer)\b|\byou'?re\s+now\b|\bfrom\s+now\s+on,?\s+you\b"
    r"|\byou\s+are\s+an?\s+(?:ai|llm|language\s+model|chatbot|helpful\s+assistant)\b"
    r"|\bif\s+you\s+are\s+an?\s+(?:ai|llm|language\s+model)\b"
    r"|\byou\s+(?:will\s+|must\s+|should\s+|now\s+)*act\s+as\b|\bact\s+as\s+if\s+you\b"
    r"|\bpretend\s+(?:that\s+)?you\s+are\b|\brole[\s\-]?play\s+(?:as|with\s+me)\b|\blet'?s\s+role[\s\-]?play"
    r"|\bas\s+an?\s+(?:ai|language\s+model)\b|\bai\s+(?:assistant|model|system)\s*:"
    r"|\byour\s+(?:new|real|actual|only)\s+(?:task|job|goal|instructions?)\b"
    r"|\b(?:new|updated|hidden|secret)\s+instructions?\b|(?:^|[\n.!?]\s*)(?:new\s+|system\s+)?instructions?\s*:"
    r"|\b(?:dear|hey|attention|note\s+to|message\s+to|instructions\s+for)\s+(?:the\s+)?"
    r"(?:ai|assistant|llm|bot|chatbot|chatgpt|model|language\s+model)\b"
    r"|(?:^|[\n.!?|>\]]\s*)(?:system|assistant|user|human|developer)\s*:|[\[(<|]\s*(?:system|assistant|user)\s*[\])>|]"
    r"|<\s*\|?\s*/?\s*(?:im_start|im_end|system|assistant|user|activity|endoftext|s|inst|sys)\b|\|>"  # delimiters
    r"|\[/?inst\]|<<\s*/?\s*sys|\bend\s+of\s+(?:the\s+)?(?:activity|data|input|user\s+data)\b|/?\s*activity\s*>",
    re.IGNORECASE | re.DOTALL)
_COMPACT_INSTRUCTION = re.compile(r"(?:ignor\w{0,3}|disregard\w{0,2}|forget)(?:(?:all|any|your)(?:the)?|(?:the)?"
                                  r"(?:previous|prior|above|earlier))+(?:instruction|prompt|rule)|systemprompt")
_BASE64 = re.compile(r"(?<![\w+/])(?=[A-Za-z0-9+/]*\d)(?=[A-Za-z0-9+/]*[a-z])(?=[A-Za-z0-9+/]*[A-Z])"
                     r"[A-Za-z0-9+/]{24,}={0,2}(?![\w+/])")
_LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W_]+")


def _unconfuse(match: re.Match) -> str:
    word = match.group(0)
    return word.translate(_CONFUSABLES) if re.search(r"[A-Za-z]", word) else word


def _unleet(match: re.Match) -> str:
    word = match.group(0)  # "1gn0r3" -> "ignore"; plain numbers stay numbers
    return word.translate(_LEET) if re.search(r"[^\W\d_]", word) and re.search(r"\d", word) else word


def fold(text: str) -> str:
    """A canonical form for matching: NFKC (full-width letters), invisible characters dropped, Cyrillic and Greek
    look-alike letters mapped to Latin in words that mix them with Latin ones ("Іgnоrе"), case folded. Words wholly
    in another script are kept, so Russian or Greek text stays itself."""
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))
    return _TOKEN.sub(_unconfuse, text).casefold()


def compact(text: str) -> str:
    """Letters and digits only: defeats "i g n o r e" and "s.y.s.t.e.m p.r.o.m.p.t"."""
    return "".join(_TOKEN.findall(text))


def looks_like_instruction(text: str) -> bool:
    """True when the text addresses a model: an instruction-override ("ignore previous instructions", in several
    languages), a request to output something, a role-play request, a role marker or a fake delimiter, or an encoded
    blob; also through look-alike letters, leetspeak and spaced-out letters."""
    folded = fold(text)
    views = (folded, _TOKEN.sub(_unleet, folded), folded.translate(_CONFUSABLES))
    return bool(any(_INSTRUCTION.search(v) for v in views) or _COMPACT_INSTRUCTION.search(compact(views[1]))
                or _COMPACT_INSTRUCTION.search(compact(views[2])) or _BASE64.search(_LINK.sub(" ", text)))


def query_problem(query: str) -> str | None:
    """Why ``query`` may not be written (None when it may): the checks that need no context."""
    words = query.split()
    if not (MIN_CHARS <= len(query) <= MAX_CHARS) or len(words) > MAX_WORDS:
        return "length"
    if any(unicodedata.category(c)[0] == "C" for c in query):
        return "control character"
    letters = sum(c.isalpha() for c in query)
    if not letters or letters < 0.5 * sum(not c.isspace() for c in query):
        return "mostly digits or punctuation"
    if any(len(w) > MAX_WORD_CHARS for w in words):
        return "over-long word"
    tokens = [t.casefold() for t in _TOKEN.findall(query)]
    bigrams = list(zip(tokens, tokens[1:]))
    if (tokens and Counter(tokens).most_common(1)[0][1] >= 3 or len(bigrams) > len(set(bigrams))
            or any(a == b and len(a) >= 3 for a, b in bigrams) or re.search(r"([^\W\d_]{1,4})\1{4,}", fold(query))):
        return "repetition loop"
    if _URL_LIKE.search(fold(query)):
        return "url"
    if contains_pii(query):
        return "personal data"
    if _ECHO.search(query) or _DELIMITER_CHARS.search(query) or looks_like_instruction(query):
        return "instruction or delimiter"
    if _copies(_words(query), _PROMPT_WORDS, PROMPT_COPY_WORDS):
        return "copies the prompt"
    return None


class InvalidOutput(ValueError):
    """The output holds no usable query."""


def candidate_lines(text: str) -> list[str]:
    """The pieces of a model's output that could each be a query: lines (or ``;``-separated parts) with bullets,
    numbering and quotes stripped, a comma-joined list on one line split; nothing is validated yet."""
    pieces = []
    for line in re.split(r"[\n;]+", text):
        line = _PREFIX.sub("", _BULLET.sub("", line)).strip().strip(_QUOTES).strip()
        if not line:
            continue
        # a comma-joined list on one line ("a, b, c") counts as several queries
        if "," in line and len(line.split()) > MAX_WORDS:
            pieces.extend(p.strip() for p in line.split(","))
        else:
            pieces.append(line)
    return pieces


def complete_lines(text: str) -> str:
    """``text`` up to its last line break (the whole text when it has none): drops a line cut by the token limit
    ("labour mps j"), which would otherwise be served as a query."""
    head, newline, _ = text.rpartition("\n")
    return head.rstrip() if newline and head.strip() else text


def normalise(query: str) -> str:
    """One query as written: outer quotes and closing punctuation, and a post's lead-in ("read", "interesting:",
    copied from a shared post), stripped; whitespace collapsed."""
    # quotes again after the punctuation: '"query".' is a quoted query followed by a full stop
    query = query.strip().strip(_QUOTES).strip().rstrip(".!?:").strip().strip(_QUOTES).strip()
    return " ".join(strip_lead_in(query).split())


def word_sets(query: str) -> list[set[str]]:
    """The query's content words, each as the set of its forms (:func:`models.vocabulary.word_forms`, a trailing
    ``'s`` dropped first), so that "pesticides" and "pesticide" match."""
    return [word_forms(w[:-2] if w.endswith("'s") else w) for w in sorted(content_words(fold(query)))]


def _within(words: list[set[str]], other: list[set[str]]) -> bool:
    return all(any(w & o for o in other) for w in words)


NEAR_REPEAT_MIN_WORDS = 3  # queries of this many content words or more repeat one that shares all but one of them


def _shared(words: list[set[str]], other: list[set[str]]) -> int:
    return sum(any(w & o for o in other) for w in words)


def repeats(query: str, earlier: Iterable[str]) -> bool:
    """True when every content word of ``query`` is one of an earlier query's, or every content word of an earlier
    query is one of ``query``'s (inflections match): "sierra leone pastor finds" after "sierra leone pastor finds
    huge diamond", "conways intelligence" after "conway intelligence"; or when the shorter of the two has
    :data:`NEAR_REPEAT_MIN_WORDS`+ content words and all but one are the other's: "carbon trade levy starts" after
    "carbon border levy starts". Such a query searches what the earlier one does and takes a slot another interest
    could have."""
    mine = word_sets(query)
    if not mine:
        return False
    for other in earlier:
        theirs = word_sets(other)
        if not theirs:
            continue
        if _within(mine, theirs) or _within(theirs, mine):
            return True
        shorter, longer = (mine, theirs) if len(mine) <= len(theirs) else (theirs, mine)
        if len(shorter) >= NEAR_REPEAT_MIN_WORDS and _shared(shorter, longer) >= len(shorter) - 1:
            return True
    return False


def parse_queries(text: str, max_queries: int) -> list[str]:
    """Up to ``max_queries`` distinct queries in output order that pass :func:`query_problem`, in lower case (as the
    key phrases and a search log are: the model copies a title's capitals by halves, "us core CPi rises"; the
    embedder and the word index read lower case either way); a query that :func:`repeats` an earlier one is dropped.
    Raises :class:`InvalidOutput` when none is left."""
    out, seen = [], set()
    for piece in candidate_lines(text):
        query = normalise(piece)
        key = query.lower()
        if key in seen or query_problem(query) is not None or repeats(query, out):
            continue
        seen.add(key)
        out.append(key)
        if len(out) == max_queries:
            break
    if not out:
        raise InvalidOutput(f"no valid query in the model output: {text[:200]!r}")
    return out


def _words(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))


def _copies(query_words: list[str], signal_words: list[str], n: int) -> bool:
    """True when the query has ``n`` consecutive words that occur, in order, in the signal."""
    grams = {tuple(signal_words[i:i + n]) for i in range(len(signal_words) - n + 1)}
    return any(tuple(query_words[i:i + n]) in grams for i in range(len(query_words) - n + 1))


_PROMPT_WORDS = _TOKEN.findall(fold(SYSTEM + " " + instruction(5)))
_FIXED_FORMS = known_forms(set().union(*(content_words(fold(t)) for t in fixed_texts())))
_FIXED_TRIGRAMS = {tuple(ws[i:i + 3]) for ws in (_TOKEN.findall(fold(t)) for t in fixed_texts())
                   for i in range(len(ws) - 2)}
_EXAMPLE_QUERIES = {" ".join(_TOKEN.findall(fold(q))) for q in EXAMPLE_ANSWER}
_YEAR = re.compile(r"(?:19|20)\d\d")
_DIGIT = re.compile(r"\d")
_RUNS = re.compile(r"\d+|[^\W\d_]+")
PROMPT_COPY_WORDS_MIN = 2  # prompt words (not the user's) a query needs before it counts as a copy by share
PROMPT_COPY_SHARE = 0.5  # ... and the share of its content words they must make up


def copies_prompt(query: str, own_forms: set[str] = frozenset()) -> bool:
    """True when the query is made of the prompt's fixed text (system message, instruction, worked example) rather
    than of the user's own activity (``own_forms``, as :func:`models.vocabulary.known_forms` builds them): at least
    two of its content words, and at least half of them, come from the fixed text and not from the user; or it is
    one of the worked example's queries, or holds three consecutive words of the fixed text, unless the user's own
    words make it up. "tesla model y price cut china" is a copy for a reader whose only Tesla signal is a chip order
    and a query of their own for one who read "Tesla cuts Model Y prices in China"; "wimbledon highlights" stays a
    Wimbledon fan's query although the example says "highlights"."""
    words = _TOKEN.findall(fold(query))
    if all(word_forms(w) & own_forms for w in words if len(w) > 1):
        return False
    content = content_words(fold(query))
    copied = [w for w in content if word_forms(w) & _FIXED_FORMS and not word_forms(w) & own_forms]
    if len(copied) >= PROMPT_COPY_WORDS_MIN and len(copied) >= PROMPT_COPY_SHARE * len(content):
        return True
    if " ".join(words) in _EXAMPLE_QUERIES:
        return True
    runs = (tuple(words[i:i + 3]) for i in range(len(words) - 2))
    return any(run in _FIXED_TRIGRAMS and not all(word_forms(w) & own_forms for w in run) for run in runs)


def _written(word: str, own_forms: set[str]) -> bool:
    """True when the user wrote ``word`` (a token with a digit): whole ("cop31"), or as its letter and digit runs
    ("gpt5" for a reader who wrote "GPT-5")."""
    return word in own_forms or all(run in own_forms for run in _RUNS.findall(word))


def query_words_problem(query: str, own_forms: set[str], check_vocabulary: bool = True,
                        written: Collection[str] = (), signals: Sequence[Sequence[str]] = ()) -> str | None:
    """Why ``query`` is not made of words a reader could search for, given the user's own word forms: a copy of
    the prompt's fixed text, a number or year the user's activity does not hold (a token with a digit must be one
    the user wrote), (when ``check_vocabulary``) an invented word, one neither the user's nor the news
    vocabulary's, (given ``written``, the user's words as :func:`written_words` reads them) a real word that is
    a slip of one of the user's ("amazon prim login" for a reader of "Amazon Prime":
    :func:`models.vocabulary.garbled_words`), or (given ``signals``, each signal's words as :func:`signal_words`
    reads them) a run of a signal's words with one swapped for a word the user never wrote ("nigerian puppet
    performers" for "chinese puppet performers": :func:`models.vocabulary.swapped_word`). None when it is fine."""
    if copies_prompt(query, own_forms):
        return "copies the prompt"
    numbers = [w for w in _TOKEN.findall(fold(query)) if _DIGIT.search(w) and not _written(w, own_forms)]
    if numbers:  # "carbon emissions cuts 2022" for a reader of 2026 news, "cop311", "gta 627": nothing they wrote
        kind = "year" if _YEAR.fullmatch(numbers[0]) else "number"
        return f"invented {kind} {numbers[0]!r}"
    if check_vocabulary:
        vocabulary = corpus_vocabulary()
        invented = [w for w in unknown_words(query, own_forms) if not word_forms(w) & vocabulary]
        if invented:
            return f"invented word {invented[0]!r}"
    if written:
        garbled = garbled_words(fold(query), written, own_forms)
        if garbled:
            return f"garbled word {garbled[0][0]!r} (the user wrote {garbled[0][1]!r})"
    if signals:
        swapped = swapped_word(_TOKEN.findall(fold(query)), signals, own_forms)
        if swapped:
            return f"swapped word {swapped[0]!r} (the user wrote {swapped[1]!r})"
    return None


def written_words(history_texts: list[str]) -> set[str]:
    """The words of the user's signals as written (folded, lower-case): what the slip check compares with."""
    return {w for t in history_texts for w in _TOKEN.findall(fold(t))}


def signal_words(history_texts: list[str]) -> list[list[str]]:
    """Each signal's words as written (folded, lower-case), in order: what the swapped-word check compares with."""
    return [_TOKEN.findall(fold(t)) for t in history_texts]


def own_words(history_texts: list[str]) -> tuple[set[str], bool]:
    """``(the forms of every word of the user's signals, whether the news vocabulary speaks for this user)``: what
    :func:`query_words_problem` checks a query against."""
    forms = known_forms({w for t in history_texts for w in _TOKEN.findall(fold(t))})
    return forms, covered_share(history_texts, corpus_vocabulary()) >= VOCABULARY_MIN_SHARE


def _decoded(text: str) -> str:
    """``text`` followed by whatever its base64 blobs decode to, so an encoded payload is known once decoded."""
    parts = [text]
    for blob in _BASE64.findall(_LINK.sub(" ", text)):
        try:
            parts.append(base64.b64decode(blob + "=" * (-len(blob) % 4)).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
    return " ".join(parts)


def grounded(queries: list[str], history_texts: list[str]) -> list[str]:
    """Keep the queries that relate to the user's own signals and not to an injection among them: a query must share
    a content word with a signal that does not look like an instruction (a small model otherwise copies the prompt's
    worked example or invents topics), must contain no word found only in instruction-like signals (the payload of
    a prompt injection), and must not copy more than :data:`MAX_COPIED_WORDS` consecutive words from one."""
    benign = [t for t in history_texts if not looks_like_instruction(t)]
    suspicious = [fold(_decoded(t)) for t in history_texts if looks_like_instruction(t)]
    vocabulary = set().union(*(content_words(fold(t)) for t in benign)) if benign else set()
    benign_folded = [fold(t) for t in benign]
    signals = [_TOKEN.findall(t) for t in benign_folded]
    benign_words = {w for ws in signals for w in ws}
    own_forms, check_vocabulary = own_words(benign)
    suspicious_words = {w for t in suspicious for w in _TOKEN.findall(t)}

    def tainted(word: str) -> bool:
        if word.isascii():  # words of space-separated scripts: compare whole words
            return len(word) >= 3 and word not in STOPWORDS and word in suspicious_words - benign_words
        # scripts written without spaces: a run found in an instruction-like signal and in no other signal
        return any(word in s for s in suspicious) and not any(word in b for b in benign_folded)

    kept = []
    for query in queries:
        words = _words(query)
        if not content_words(fold(query)) & vocabulary or any(tainted(w) for w in words):
            continue
        if any(_copies(words, _TOKEN.findall(s), MAX_COPIED_WORDS + 1) for s in suspicious):
            continue
        if query_words_problem(query, own_forms, check_vocabulary, benign_words, signals) is not None:
            continue
        kept.append(query)
    return kept


def validate(queries: list[str], history_texts: list[str], injected_markers: Iterable[str] = ()) -> list[str]:
    """Every content check on already-parsed queries: :func:`query_problem`, :func:`grounded`, and none of
    ``injected_markers`` (known payload strings, compared folded and without separators) in a query."""
    markers = [m for m in (compact(fold(m)) for m in injected_markers) if m]
    clean = [q for q in queries
             if query_problem(q) is None and not any(m in compact(fold(q)) for m in markers)]
    return grounded(clean, history_texts)
