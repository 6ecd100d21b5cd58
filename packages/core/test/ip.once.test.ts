import { ipKey } from '../src'

describe('ipKey', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::ffff:cb00:7107', '203.0.113.7'],
    ['2001:db8:abcd:12ff:1:2:3:4', '2001:db8:abcd:1200::/56'],
    ['2001:db8:abcd:12aa::9', '2001:db8:abcd:1200::/56'],
    ['::1', '::/56'],
    ['fe80::1%eth0', 'fe80::/56'],
    [undefined, 'unknown'],
    ['not an ip', 'unknown'],
  ])('keys %p as %p', (ip, expected) => {
    expect(ipKey(ip)).toBe(expected)
  })

  it('puts two addresses of one /56 under one key and another /56 under another', () => {
    expect(ipKey('2001:db8:0:ff01::1')).toBe(ipKey('2001:db8:0:ffee::2'))
    expect(ipKey('2001:db8:0:ff01::1')).not.toBe(ipKey('2001:db8:0:fe01::1'))
  })

  it('masks to another prefix length when asked', () => {
    expect(ipKey('2001:db8:abcd:12ff:1:2:3:4', { ipv6Subnet: 64 })).toBe('2001:db8:abcd:12ff::/64')
    expect(ipKey('2001:db8:abcd:12ff:1:2:3:4', { ipv6Subnet: 128 })).toBe('2001:db8:abcd:12ff:1:2:3:4/128')
  })
})
