//! A hostile guest. Exports `nearcache:backend/store@0.1.0`, but of another
//! shape: strings instead of bytes, and only `get`. The host must refuse to
//! load it, naming the mismatch, rather than call it.

wit_bindgen::generate!({
    inline: "
        package nearcache:backend@0.1.0;

        interface store {
            get: func(key: string) -> option<string>;
        }

        world wrong {
            export store;
        }
    ",
    world: "wrong",
});

use exports::nearcache::backend::store::Guest;

struct Wrong;

impl Guest for Wrong {
    fn get(key: String) -> Option<String> {
        Some(key)
    }
}

export!(Wrong);
