//! `record!` declares a jute record: a struct whose fields encode in declaration order.

use crate::codec::{DecodeError, Reader, Record, Writer};
use bytes::{Bytes, BytesMut};

impl Record for i32 {
    fn encode(&self, out: &mut BytesMut) {
        out.write_i32(*self);
    }
    fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        r.read_i32()
    }
}

impl Record for i64 {
    fn encode(&self, out: &mut BytesMut) {
        out.write_i64(*self);
    }
    fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        r.read_i64()
    }
}

impl Record for bool {
    fn encode(&self, out: &mut BytesMut) {
        out.write_bool(*self);
    }
    fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        r.read_bool()
    }
}

impl Record for Bytes {
    fn encode(&self, out: &mut BytesMut) {
        out.write_buffer(self);
    }
    fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        r.read_buffer()
    }
}

/// Znode data: `None` is a null buffer (length −1), which ZooKeeper stores and answers as null,
/// apart from empty data.
impl Record for Option<Bytes> {
    fn encode(&self, out: &mut BytesMut) {
        out.write_buffer_opt(self.as_deref());
    }
    fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        r.read_buffer_opt()
    }
}

impl Record for String {
    fn encode(&self, out: &mut BytesMut) {
        out.write_string(self);
    }
    fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        r.read_string()
    }
}

/// A nullable string (length −1 for null): ZooKeeper tells a null `reconfig` argument (not given)
/// from an empty one.
impl Record for Option<String> {
    fn encode(&self, out: &mut BytesMut) {
        out.write_buffer_opt(self.as_deref().map(str::as_bytes));
    }
    fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        r.read_string_opt()
    }
}

impl<T: Record> Record for Vec<T> {
    fn encode(&self, out: &mut BytesMut) {
        out.write_i32(self.len() as i32);
        for item in self {
            item.encode(out);
        }
    }
    fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        r.read_vec(T::decode)
    }
}

/// Declares a record struct with public fields and its [`Record`] impl.
#[macro_export]
macro_rules! record {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }

        impl $crate::Record for $name {
            #[allow(unused_variables)]
            fn encode(&self, out: &mut $crate::__private::BytesMut) {
                $( $crate::Record::encode(&self.$field, out); )*
            }
            #[allow(unused_variables)]
            fn decode(r: &mut $crate::Reader) -> Result<Self, $crate::DecodeError> {
                Ok(Self { $( $field: <$ty as $crate::Record>::decode(r)? ),* })
            }
        }
    };
}
