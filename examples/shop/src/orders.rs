//! Orders, attributed to the partner that referred the customer.

use std::sync::{Arc, Mutex, PoisonError};

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Product SKU.
    pub sku: String,
    /// Product name at the time of the order.
    pub name: String,
    /// Units.
    pub qty: u32,
    /// Price per unit in cents, after any portal discount.
    pub unit_cents: u64,
}

/// A placed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Order number.
    pub id: u64,
    /// The customer's account id.
    pub user: u64,
    /// What was ordered.
    pub lines: Vec<Line>,
    /// The partner the order is attributed to: `(id, name)`.
    pub partner: Option<(String, String)>,
    /// Placed through the partner's portal (portal pricing).
    pub via_portal: bool,
}

impl Order {
    /// The order total in cents.
    pub fn total_cents(&self) -> u64 {
        self.lines
            .iter()
            .map(|l| l.unit_cents * u64::from(l.qty))
            .sum()
    }
}

/// The order book, shared by every request; clones see the same orders.
#[derive(Debug, Clone, Default)]
pub struct Orders(Arc<Mutex<Vec<Order>>>);

impl Orders {
    /// Stores an order under the next number and returns it.
    pub fn place(&self, mut order: Order) -> u64 {
        let mut orders = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        order.id = 1001 + orders.len() as u64;
        let id = order.id;
        orders.push(order);
        id
    }

    /// The order with this number.
    pub fn get(&self, id: u64) -> Option<Order> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|o| o.id == id)
            .cloned()
    }

    /// Every order.
    pub fn all(&self) -> Vec<Order> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Portal pricing: partners' portal customers get 10% off.
pub fn portal_price(cents: u64) -> u64 {
    cents * 9 / 10
}
