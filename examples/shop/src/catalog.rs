//! What the shop sells.

/// One product line.
#[derive(Debug, Clone, Copy)]
pub struct Product {
    /// Stock-keeping unit, used in forms and the cart.
    pub sku: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Price per unit, in cents.
    pub price_cents: u32,
}

/// The catalogue.
pub const PRODUCTS: &[Product] = &[
    Product {
        sku: "BC-500",
        name: "Business cards, 500, matte",
        price_cents: 3_900,
    },
    Product {
        sku: "FL-A5-1000",
        name: "Flyers A5, 1000, gloss",
        price_cents: 8_900,
    },
    Product {
        sku: "PO-A2-10",
        name: "Posters A2, 10",
        price_cents: 4_500,
    },
    Product {
        sku: "ST-RND-250",
        name: "Round stickers, 250",
        price_cents: 2_900,
    },
];

/// The product with this SKU.
pub fn product(sku: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|product| product.sku == sku)
}

/// `12.34`-style price text.
pub fn price(cents: u64) -> String {
    format!("€{}.{:02}", cents / 100, cents % 100)
}
