"""The demo agents, driven directly through their ``run`` async generators."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from a2a_gateway.agents.ask import MAX_ROUNDS, QUESTION, AskAgent, parse_rounds
from a2a_gateway.agents.base import AgentContext, AgentOutput, ArtifactChunk, Status
from a2a_gateway.agents.echo import MAX_DELAY, MAX_WORD_CHUNKS, EchoAgent
from a2a_gateway.agents.progress import MAX_INTERVAL, MAX_STEPS, ProgressAgent, parse_options
from a2a_gateway.core.states import TaskState
from a2a_gateway.models import DataPart, FilePart, FileWithUri, Message, TextPart

if TYPE_CHECKING:
    from a2a_gateway.agents.base import Agent
    from a2a_gateway.models import Part


def context(*parts: Part, turn: int = 0, first: str | None = None) -> AgentContext:
    """A turn's context; ``first`` is the text of history[0] when it is another message."""
    message = Message(message_id="m-1", role="user", parts=list(parts))
    history = [message]
    if first is not None:
        history = [Message(message_id="m-0", role="user", parts=[TextPart(text=first)]), message]
    return AgentContext(
        task_id="t-1", context_id="c-1", message=message, history=history, turn=turn
    )


def text_context(text: str, turn: int = 0) -> AgentContext:
    return context(TextPart(text=text), turn=turn)


async def collect(agent: Agent, ctx: AgentContext) -> list[AgentOutput]:
    return [output async for output in agent.run(ctx)]


def chunks_only(outputs: list[AgentOutput]) -> list[ArtifactChunk]:
    assert all(isinstance(o, ArtifactChunk) for o in outputs), outputs
    return [o for o in outputs if isinstance(o, ArtifactChunk)]


def chunk_text(chunk: ArtifactChunk) -> str:
    (part,) = chunk.parts
    assert isinstance(part, TextPart)
    return part.text


# --- echo -------------------------------------------------------------------------------


async def test_echo_chunks_concatenate_to_the_words() -> None:
    text = "  hello   streaming\tworld\nagain "
    chunks = chunks_only(await collect(EchoAgent(delay=0), text_context(text)))
    assert len(chunks) == 4
    assert "".join(chunk_text(c) for c in chunks) == "hello streaming world again"
    assert [chunk_text(c) for c in chunks] == ["hello", " streaming", " world", " again"]


async def test_echo_append_and_last_chunk_flags() -> None:
    chunks = chunks_only(await collect(EchoAgent(delay=0), text_context("a b c")))
    assert [c.append for c in chunks] == [False, True, True]
    assert [c.last_chunk for c in chunks] == [False, False, True]
    assert {c.artifact_id for c in chunks} == {"echo"}


async def test_echo_single_word_is_one_final_chunk() -> None:
    (chunk,) = chunks_only(await collect(EchoAgent(delay=0), text_context("solo")))
    assert chunk_text(chunk) == "solo"
    assert chunk.append is False
    assert chunk.last_chunk is True


async def test_echo_data_and_file_parts_are_their_own_chunks() -> None:
    data = DataPart(data={"k": [1, 2]})
    file = FilePart(file=FileWithUri(uri="https://example.com/f.txt", name="f.txt"))
    ctx = context(TextPart(text="one two"), data, file, TextPart(text="three"))
    chunks = chunks_only(await collect(EchoAgent(delay=0), ctx))
    assert len(chunks) == 5
    assert chunk_text(chunks[0]) == "one"
    assert chunk_text(chunks[1]) == " two"
    assert chunks[2].parts == [data]
    assert chunks[3].parts == [file]
    assert chunk_text(chunks[4]) == " three"
    assert [c.append for c in chunks] == [False, True, True, True, True]
    assert [c.last_chunk for c in chunks] == [False, False, False, False, True]


async def test_echo_of_blank_text_is_one_empty_final_chunk() -> None:
    (chunk,) = chunks_only(await collect(EchoAgent(delay=0), text_context("   ")))
    assert chunk_text(chunk) == ""
    assert chunk.last_chunk is True


# --- progress ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steps=3 interval=0.5", (3, 0.5)),
        ("interval=2 steps=7", (7, 2.0)),
        ("please run steps = 4", (4, 1.0)),
        ("", (5, 1.0)),
        ("hello there", (5, 1.0)),
        ("steps=0 interval=0", (0, 0.0)),
    ],
)
def test_parse_options(text: str, expected: tuple[int, float]) -> None:
    assert parse_options(text) == expected


def test_parse_options_clamps_huge_values() -> None:
    steps, interval = parse_options("steps=99999999999 interval=999999.5")
    assert steps == MAX_STEPS
    assert interval == MAX_INTERVAL
    assert steps < 99999999999
    assert interval < 999999.5


def test_progress_limits_are_ones_an_operator_accepts() -> None:
    assert MAX_STEPS == 1000
    assert MAX_INTERVAL == 60.0
    assert parse_options("steps=10000 interval=3600") == (1000, 60.0)


async def test_progress_yields_working_steps_then_result() -> None:
    outputs = await collect(ProgressAgent(), text_context("steps=3 interval=0"))
    assert len(outputs) == 4
    statuses, (result,) = outputs[:3], outputs[3:]
    for step, status in enumerate(statuses, start=1):
        assert isinstance(status, Status)
        assert status.state is TaskState.WORKING
        assert status.text is not None
        assert f"{step}/3" in status.text
    assert isinstance(result, ArtifactChunk)
    assert result.last_chunk is True
    assert "3" in chunk_text(result)


async def test_progress_with_zero_steps_only_yields_the_result() -> None:
    outputs = await collect(ProgressAgent(), text_context("steps=0 interval=0"))
    assert len(outputs) == 1
    assert isinstance(outputs[0], ArtifactChunk)


# --- ask --------------------------------------------------------------------------------


async def test_ask_turn_zero_asks_the_question() -> None:
    outputs = await collect(AskAgent(), text_context("hi", turn=0))
    assert len(outputs) == 1
    (status,) = outputs
    assert isinstance(status, Status)
    assert status.state is TaskState.INPUT_REQUIRED
    assert status.text == QUESTION
    assert status.text.endswith("?")


async def test_ask_turn_one_answers_with_the_name() -> None:
    outputs = await collect(AskAgent(), text_context("  Ada Lovelace ", turn=1))
    (chunk,) = chunks_only(outputs)
    assert "Ada Lovelace" in chunk_text(chunk)
    assert chunk.last_chunk is True


async def test_ask_default_is_exactly_one_round() -> None:
    (status,) = await collect(AskAgent(), text_context("hello", turn=0))
    assert isinstance(status, Status)
    assert status.text == QUESTION
    (chunk,) = chunks_only(await collect(AskAgent(), context(TextPart(text="Ada"), turn=1)))
    assert chunk_text(chunk) == "Hello, Ada!"


@pytest.mark.parametrize(
    ("text", "rounds"),
    [
        ("rounds=3", 3),
        ("please, rounds = 12 of them", 12),
        ("rounds=0", 1),
        ("rounds=999999", MAX_ROUNDS),
        ("hi", 1),
        ("", 1),
    ],
)
def test_parse_rounds(text: str, rounds: int) -> None:
    assert parse_rounds(text) == rounds


async def test_ask_rounds_asks_n_numbered_questions_then_greets_the_last_answer() -> None:
    agent = AskAgent()
    for turn in range(3):
        ctx = context(TextPart(text=f"answer {turn}"), turn=turn, first="rounds=3")
        if turn == 0:
            ctx = text_context("rounds=3", turn=0)
        (status,) = await collect(agent, ctx)
        assert isinstance(status, Status)
        assert status.state is TaskState.INPUT_REQUIRED
        assert status.text == f"{QUESTION} (question {turn + 1} of 3)"
    last = context(TextPart(text=" Grace "), turn=3, first="rounds=3")
    (chunk,) = chunks_only(await collect(agent, last))
    assert chunk_text(chunk) == "Hello, Grace!"
    assert chunk.last_chunk is True


async def test_ask_reads_rounds_from_the_first_message_only() -> None:
    ctx = context(TextPart(text="rounds=5"), turn=1, first="hi")
    (chunk,) = chunks_only(await collect(AskAgent(), ctx))
    assert chunk_text(chunk) == "Hello, rounds=5!"


async def test_echo_of_a_huge_number_of_words_is_bounded_and_exact() -> None:
    text = " ".join(str(i) for i in range(25_000))
    chunks = chunks_only(await collect(EchoAgent(delay=0), text_context(text)))
    assert len(chunks) <= MAX_WORD_CHUNKS
    assert "".join(chunk_text(c) for c in chunks) == text
    assert [c.last_chunk for c in chunks].count(True) == 1


def test_echo_delay_is_clamped() -> None:
    assert EchoAgent(delay=3600).delay == MAX_DELAY
    assert EchoAgent(delay=-1).delay == 0.0
