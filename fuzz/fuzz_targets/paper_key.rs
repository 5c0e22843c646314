//! Fuzz the paper key text decoder: arbitrary bytes must never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cairn_engine::codec::decoders::Decoder::PaperKey.run(data);
});
