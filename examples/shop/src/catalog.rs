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
    /// Width and height of one piece, in millimetres.
    pub size_mm: (u32, u32),
}

/// How sizes are shown: the visitor's display preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Units {
    /// Millimetres (the default).
    #[default]
    Millimetres,
    /// Inches.
    Inches,
}

impl Units {
    /// `mm` or `in`, as in forms and the preferences cookie.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Millimetres => "mm",
            Self::Inches => "in",
        }
    }

    /// The units named `mm` or `in`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "mm" => Some(Self::Millimetres),
            "in" => Some(Self::Inches),
            _ => None,
        }
    }

    /// A size in these units: `85 × 55 mm` or `3.35 × 2.17 in`.
    pub fn size(self, (width, height): (u32, u32)) -> String {
        match self {
            Self::Millimetres => format!("{width} × {height} mm"),
            Self::Inches => format!(
                "{:.2} × {:.2} in",
                f64::from(width) / 25.4,
                f64::from(height) / 25.4
            ),
        }
    }
}

/// The catalogue.
pub const PRODUCTS: &[Product] = &[
    Product {
        sku: "BC-500",
        name: "Business cards, 500, matte",
        price_cents: 3_900,
        size_mm: (85, 55),
    },
    Product {
        sku: "FL-A5-1000",
        name: "Flyers A5, 1000, gloss",
        price_cents: 8_900,
        size_mm: (148, 210),
    },
    Product {
        sku: "PO-A2-10",
        name: "Posters A2, 10",
        price_cents: 4_500,
        size_mm: (420, 594),
    },
    Product {
        sku: "ST-RND-250",
        name: "Round stickers, 250",
        price_cents: 2_900,
        size_mm: (50, 50),
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
