import { describe, expect, it } from 'vitest';
import { volunteerSocketUrl } from './url.ts';

describe('volunteerSocketUrl', () => {
  it('points at the master that served the page, ws for http and wss for https', () => {
    expect(volunteerSocketUrl('http://127.0.0.1:8080/')).toBe('ws://127.0.0.1:8080/ws/volunteer');
    expect(volunteerSocketUrl('https://swarm.example.org/some/page#x')).toBe('wss://swarm.example.org/ws/volunteer');
  });

  it('forwards the join key and nothing else from the page URL', () => {
    expect(volunteerSocketUrl('https://swarm.example.org/?key=s3cr%26t&utm=x')).toBe('wss://swarm.example.org/ws/volunteer?key=s3cr%26t');
  });
});
