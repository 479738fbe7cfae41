// Which media and recording URLs the fetch job may follow: Exotel's own hosts and its recording bucket
// on S3 (as its callbacks and documentation give them), never another bucket or host.
import { describe, expect, it } from 'vitest';
import { mediaUrlRefusal } from '../../lib/exotel/jobs.js';

describe('Exotel media hosts', () => {
  it.each([
    'https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/seahawk1/abc123.mp3',
    'https://s3.ap-south-1.amazonaws.com/exotelrecordings/seahawk1/abc123.mp3',
    'https://s3.amazonaws.com/exotelrecordings/seahawk1/abc123.mp3',
    'https://exotelrecordings.s3.ap-southeast-1.amazonaws.com/seahawk1/abc123.mp3',
    'https://exotelrecordings.s3-ap-southeast-1.amazonaws.com/seahawk1/abc123.mp3?X-Amz-Signature=abc',
    'https://recordings.exotel.com/seahawk1/abc123.mp3',
    'https://api.exotel.in/v1/Accounts/seahawk1/Media/m1',
  ])('follows %s', (url) => {
    expect(mediaUrlRefusal(url)).toBeNull();
  });

  it.each([
    ['https://s3-ap-southeast-1.amazonaws.com/someonesbucket/exotelrecordings/a.mp3', 'is not an Exotel host'],
    ['https://s3-ap-southeast-1.amazonaws.com/exotelrecordingsx/a.mp3', 'is not an Exotel host'],
    ['https://exotelrecordings.evil.example/a.mp3', 'is not an Exotel host'],
    ['https://exotelrecordings.s3.amazonaws.com.evil.example/a.mp3', 'is not an Exotel host'],
    ['https://evil-exotel.com/a.mp3', 'is not an Exotel host'],
    ['http://s3-ap-southeast-1.amazonaws.com/exotelrecordings/a.mp3', 'must be https'],
    ['https://user:pw@s3.amazonaws.com/exotelrecordings/a.mp3', 'must not carry credentials'],
  ])('refuses %s', (url, reason) => {
    expect(mediaUrlRefusal(url)).toContain(reason);
  });
});
